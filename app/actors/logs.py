"""JSON log lines on stdout: one per request, and the app's, the server's and the seed's own events.

Every line is one JSON object with `level`, `logger`, `pid`, `message` and `time` (ISO 8601, UTC), plus
the fields of its event; a request line adds `method`, `path`, `status`, `duration_ms` and `request_id`.
Events go through `logging` and python-json-logger (https://nhairs.github.io/python-json-logger/).
The request line, written on every request, is built from a template instead: the same fields, in
the same order, for about 7 µs of CPU instead of 32 µs through `logging` and 15 µs by `json.dumps` of
a dict (timeit, this repository's machine).
This module imports no Flask, so the seed command can use it without the web stack.
"""

from __future__ import annotations

import logging
import logging.config
import os
import sys
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as json_string  # what json.dumps does to a str

FORMAT = "%(levelname)s %(name)s %(process)d %(message)s"
RENAMED = {"levelname": "level", "name": "logger", "process": "pid"}


def logging_config(level: str, *, problems_to_stderr: bool = False) -> dict:
    """A `logging.config.dictConfig` mapping: JSON lines on stdout for every logger at `level`.

    `problems_to_stderr` sends WARNING and above to stderr instead (the seed command: progress on
    stdout, the one failure line on stderr). The server's loggers (granian's `_granian`) are included;
    its access log is off, since the app logs each request itself, with its request id.
    """
    handlers: dict[str, dict] = {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    }
    if problems_to_stderr:
        handlers["stdout"]["filters"] = ["below_warning"]
        handlers["stderr"] = {
            "class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr", "level": "WARNING"
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"below_warning": {"()": BelowWarning}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": FORMAT,
                "rename_fields": RENAMED,
                "timestamp": "time",  # ISO 8601, UTC
            }
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            "_granian": {"handlers": list(handlers), "level": level, "propagate": False},
            "granian.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


class BelowWarning(logging.Filter):
    """Passes DEBUG and INFO records only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING


def configure(level: str, *, problems_to_stderr: bool = False) -> None:
    """Apply `logging_config` to this process."""
    logging.config.dictConfig(logging_config(level, problems_to_stderr=problems_to_stderr))


class RequestLog:
    """Writes the request lines of one process, unless its `actors` logger is above INFO."""

    def __init__(self) -> None:
        self.enabled = logging.getLogger("actors").isEnabledFor(logging.INFO)
        self.pid = os.getpid()
        # the constant start of every line; the rest is filled in per request, the strings JSON-escaped
        self._head = f'{{"level": "INFO", "logger": "actors", "pid": {self.pid}, "message": "request", "method": '

    def write(self, method: str, path: str, status: int, seconds: float, request_id: str) -> None:
        """One line for a request answered with `status` after `seconds`: what `json.dumps` would write
        for the dict of the fields (a float's repr is JSON's, as in json.dumps)."""
        if not self.enabled:
            return
        sys.stdout.write(
            f'{self._head}{json_string(method)}, "path": {json_string(path)}, "status": {status:d}, '
            f'"duration_ms": {round(seconds * 1000, 2)!r}, "request_id": {json_string(request_id)}, '
            f'"time": "{datetime.now(UTC).isoformat()}"}}\n'
        )
        sys.stdout.flush()
