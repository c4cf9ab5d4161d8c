"""Send N numbered messages of a given size over C reused SMTP connections; note each 250's time."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiosmtplib


def message(number: int, sender: str, to: str, size: int) -> bytes:
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: bench {number}\r\n"
            f"Message-ID: <bench-{number}-{time.time_ns()}@client.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    line = "Bonjour, voici un paragraphe de texte pour remplir le message. " * 1 + "\r\n"
    body = (line * (size // len(line) + 1))[: max(0, size - len(head))]
    return (head + body).encode()


async def worker(port: int, numbers: list[int], sender: str, to: str, size: int,
                 accepted: dict[int, float]) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    await client.connect()
    for number in numbers:
        await client.sendmail(sender, [to], message(number, sender, to, size))
        accepted[number] = time.time()
    await client.quit()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--size", type=int, default=5120)
    parser.add_argument("--sender", default="sender@example.org")
    parser.add_argument("--to", default="sink@example.org")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    accepted: dict[int, float] = {}
    shares = [list(range(i, args.count, args.connections)) for i in range(args.connections)]
    started = time.time()
    await asyncio.gather(*(worker(args.port, share, args.sender, args.to, args.size, accepted)
                           for share in shares))
    with open(args.out, "w") as out:
        json.dump({"started": started, "finished": time.time(), "accepted": accepted}, out)


if __name__ == "__main__":
    asyncio.run(main())
