"""Logging for `serve`: text or JSON lines ([logging] format) at one level, libraries kept quiet."""

from __future__ import annotations

import logging
import sys
from typing import IO

from gateway.config import LoggingSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Library chatter (per SMTP command, per scheduler run) would drown the gateway's own lines.
NOISY = ("mail.log", "alembic", "apscheduler", "aiosmtpd", "uvicorn.error")


def formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        from pythonjsonlogger.json import JsonFormatter

        # Fields passed with extra= (message_id, pair_id, outcome, ...) become keys of the object.
        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                             rename_fields={"asctime": "time", "levelname": "level",
                                            "name": "logger"},
                             datefmt="%Y-%m-%dT%H:%M:%S%z")
    return logging.Formatter(TEXT_FORMAT)


def setup_logging(settings: LoggingSettings, stream: IO[str] | None = None) -> logging.Handler:
    """One handler on the root logger (replacing any); returns it (tests read what it writes)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings.format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, settings.level.upper()))
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
