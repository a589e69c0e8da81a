"""Structured JSON logs; every line passes through the one redaction function."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from bot.redact import redact

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields.

    Tracebacks are never written (they can carry secrets and request bodies);
    callers log the error type and a redacted message instead.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool) or value is None else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        return redact(json.dumps(entry, ensure_ascii=False))


def setup_logging(level: str = "INFO", stream: object = None) -> None:
    """Send every logger to stderr as redacted JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter (request URLs with signatures, bodies) stays out of the logs.
    for noisy in ("urllib3", "kubernetes", "slack_sdk", "slack_bolt", "apscheduler", "uvicorn"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
