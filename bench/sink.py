"""A bare aiosmtpd sink for benchmarks; with --record FILE it notes when each numbered message arrived."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import time
from typing import Any

from aiosmtpd.smtp import SMTP

NUMBER = re.compile(rb"^Subject: bench (\d+)", re.MULTILINE)


class RecordingSink:
    def __init__(self) -> None:
        self.arrivals: list[tuple[int, float]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = NUMBER.search(envelope.original_content or b"")
        if found:
            self.arrivals.append((int(found.group(1)), time.time()))
        return "250 OK"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", default=None)
    args = parser.parse_args()
    handler = RecordingSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", args.port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    if args.record:
        with open(args.record, "w") as out:
            out.writelines(f"{n} {t}\n" for n, t in handler.arrivals)


if __name__ == "__main__":
    asyncio.run(main())
