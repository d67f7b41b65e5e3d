"""JSON log lines on stdout: one per request, and the app's (and gunicorn's) own events."""

from __future__ import annotations

import logging
import logging.config
import re
import time
import uuid

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
# Heroku's router and most proxies send 20-200 URL-safe characters; anything else is replaced.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,200}")
FORMAT = "%(levelname)s %(name)s %(process)d %(message)s"

logger = logging.getLogger("actors")


def logging_config(level: str) -> dict:
    """A `logging.config.dictConfig` for JSON on stdout; gunicorn's loggers included."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": FORMAT,
                "rename_fields": {"levelname": "level", "name": "logger", "process": "pid"},
                "timestamp": "time",  # ISO 8601, UTC
            }
        },
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "gunicorn.error": {"handlers": ["stdout"], "level": level, "propagate": False},
            # requests are logged by the app with their request id; gunicorn's access log would repeat them
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def request_id() -> str:
    return g.get("request_id", "-")


def init_app(app: Flask, level: str) -> None:
    logging.config.dictConfig(logging_config(level))

    @app.before_request
    def start_timer() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id()
        duration_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
                "request_id": request_id(),
            },
        )
        return response
