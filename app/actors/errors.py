"""Error answers: JSON for the API and probes, a short human page otherwise; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from actors.db import DatabaseUnavailable
from actors.sample import BadCount
from actors.wsgi import request_id as environ_request_id

logger = logging.getLogger("actors")
RETRY_AFTER_S = "5"


def request_id() -> str:
    return environ_request_id(request.environ)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")


def _answer(status: int, message: str) -> tuple[Response, int] | tuple[str, int]:
    if _wants_json():
        return jsonify(error=message, status=status, request_id=request_id()), status
    return render_template("error.html", status=status, message=message, request_id=request_id()), status


def init_app(app: Flask) -> None:
    @app.errorhandler(BadCount)
    def bad_count(error: BadCount):
        return _answer(400, str(error))

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(error: DatabaseUnavailable):
        logger.warning("database unavailable", extra={"reason": str(error), "request_id": request_id()})
        body, status = _answer(503, "The database is not answering right now. Please try again in a few seconds.")
        response = app.make_response((body, status))
        response.headers["Retry-After"] = RETRY_AFTER_S
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _answer(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logger.exception("unhandled error", extra={"request_id": request_id()})
        return _answer(500, InternalServerError.description)
