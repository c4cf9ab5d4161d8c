"""Send one test message to the gateway (used by the quick start printed by `make run`)."""

from __future__ import annotations

import argparse
import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--from", dest="sender", required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--subject", default="Bonjour / Hello")
    parser.add_argument("--body", default="Bonjour ! Hello! This is a test message.\n")
    args = parser.parse_args()
    msg = EmailMessage()
    msg["From"] = args.sender
    msg["To"] = args.to
    msg["Subject"] = args.subject
    msg["Message-ID"] = make_msgid()
    msg.set_content(args.body)
    with smtplib.SMTP(args.host, args.port) as client:
        client.sendmail(args.sender, [args.to], msg.as_bytes(policy=SMTP))
    print(f"sent to {args.to} through {args.host}:{args.port}")


if __name__ == "__main__":
    main()
