"""The app's WSGI entry (PEP 3333): the work every request needs, done once per request around Flask.

One clock read at the start and one at the end serve both the request log line and the metrics; the
request id is the caller's `X-Request-ID` when it is a sane one, else this process's random prefix and
a counter (unique without a random draw per request); the security headers are appended to the
response's header list. Flask's before/after-request hooks would each repeat part of this work.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

import flask

from actors import metrics, security
from actors.logs import RequestLog

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KEY = "actors.request_id"  # where the id waits in the WSGI environ for error pages
REQUEST_KEY = "actors.request"  # Flask's request, kept for its URL rule (Flask clears "werkzeug.request")
# Heroku's router and most proxies send 20-200 URL-safe characters; anything else is replaced.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,200}").fullmatch

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


class Request(flask.Request):
    """Flask's request, leaving itself in the WSGI environ for `Observed` to read after Flask is done."""

    def __init__(self, environ: dict, *args: Any, **kwargs: Any) -> None:
        super().__init__(environ, *args, **kwargs)
        environ[REQUEST_KEY] = self


class Response(flask.Response):
    """Flask's response, but a body held in memory goes to the server as a list of bytes (PEP 3333
    allows any iterable): granian then sends it in one call instead of pulling it chunk by chunk
    through an iterator, which cost about a third of the app's CPU per request (docs/performance.md)."""

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if self.direct_passthrough or not self.is_sequence:  # files and streams: as Werkzeug does
            return super().__call__(environ, start_response)
        app_iter, status, headers = self.get_wsgi_response(environ)
        start_response(status, headers)
        body = list(app_iter)
        self.close()
        return body


class Observed:
    """Wraps a Flask app's `wsgi_app` (whose `request_class` is `Request`): request id, request log line,
    metrics and security headers."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.log = RequestLog()
        # 64 random bits per process, then a counter: ids stay unique across workers and restarts
        self._prefix = secrets.token_hex(8) + "-"
        self._counter = itertools.count(1)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        started = perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID")
        request_id = incoming if incoming and _VALID_REQUEST_ID(incoming) else f"{self._prefix}{next(self._counter):x}"
        environ[REQUEST_ID_KEY] = request_id
        status = [500]

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(status_line[:3])
            security.add_headers(headers)
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        body = self.app(environ, start)
        seconds = perf_counter() - started
        request = environ.get(REQUEST_KEY)  # with the URL rule Flask matched
        rule = request.url_rule if request is not None else None
        # the rule, not the path, so that unknown URLs cannot explode the label set
        method = environ["REQUEST_METHOD"]
        metrics.observe(rule.rule if rule is not None else "unmatched", method, status[0], seconds)
        self.log.write(method, request.path if request is not None else environ.get("PATH_INFO", ""), status[0],
                       seconds, request_id)
        return body


def request_id(environ: dict) -> str:
    """The id `Observed` gave the request of `environ` ("-" outside it)."""
    return environ.get(REQUEST_ID_KEY, "-")
