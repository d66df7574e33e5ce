"""The two log formats of `agentos serve` and `agentos run`: `text` and `json`.

`json` writes one JSON object per line: `ts` (UTC, ISO 8601), `level`, `logger`, `msg`
(a lifecycle record's event name), then a lifecycle record's fields (`event`, `run_id`,
...) and a traceback as `exc`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from agentos.observe.lifecycle import LOGGER as LIFECYCLE

LOG_FORMATS = ("text", "json")


def _ts(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonLines(logging.Formatter):
    """A record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _ts(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):  # a lifecycle record: its fields say it all
            line["msg"] = str(fields.get("event", line["msg"]))
            line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextLines(logging.Formatter):
    """`2025-01-02T03:04:05.678+00:00 INFO agentos.lifecycle run_started run_id=…`."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_ts(record)} {record.levelname} {record.name} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of `log_format` (`text` or `json`)."""
    return JsonLines() if log_format == "json" else TextLines()


@contextmanager
def log_lines(
    log_format: str, logger: str, stream: TextIO | None = None
) -> Iterator[logging.Handler]:
    """While inside, write `logger`'s records (and lifecycle lines, at INFO) to `stream`
    (stderr) in `log_format`; on exit, the handler and level are taken back."""
    target, lifecycle = logging.getLogger(logger), logging.getLogger(LIFECYCLE)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(log_format))
    level = lifecycle.level
    target.addHandler(handler)
    lifecycle.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        target.removeHandler(handler)
        lifecycle.setLevel(level)


def uvicorn_log_config(log_format: str) -> dict[str, Any] | None:
    """uvicorn's logging config writing JSON lines, or None to keep uvicorn's own."""
    if log_format != "json":
        return None
    lines = f"{__name__}.JsonLines"

    def handler(stream: str) -> dict[str, str]:
        return {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": lines}},
        "handlers": {"default": handler("ext://sys.stderr"), "access": handler("ext://sys.stdout")},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }
