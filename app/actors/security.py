"""Security headers on every response (the CSP allows only the page's own stylesheet), and https only.

Both platforms terminate TLS in front of the app and say how a request arrived in X-Forwarded-Proto.
Emissary redirects plain http itself; Heroku's router passes it through, so the app redirects it.
The headers are added by `actors.wsgi` to the header list of every response, Flask's or not.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, redirect, request

# (name, value) pairs, as WSGI's start_response takes them.
HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'",
    ),
    # browsers ignore it over plain http (local runs); both platforms serve the app over https
    ("Strict-Transport-Security", "max-age=31536000"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
# Every page and API answer is fresh random data: never cached. Static files keep the Cache-Control they have.
NO_STORE = ("Cache-Control", "no-store")


def add_headers(headers: list[tuple[str, str]]) -> None:
    """Add the security headers to a WSGI header list, and `Cache-Control: no-store` unless it has one."""
    if not any(name == "Cache-Control" for name, _ in headers):
        headers.append(NO_STORE)
    headers.extend(HEADERS)


def init_app(app: Flask, force_https: bool) -> None:
    if force_https:

        @app.before_request
        def redirect_plain_http() -> Response | None:
            # the environ, not request.headers: a header that is absent costs Werkzeug an exception
            if request.environ.get("HTTP_X_FORWARDED_PROTO", "").lower() != "http":
                return None  # https, or no proxy in front (a probe, or a local run)
            secure = urlsplit(request.url)._replace(scheme="https").geturl()
            # 308 keeps the method and body of anything but a GET or HEAD
            return redirect(secure, 301 if request.method in ("GET", "HEAD") else 308)
