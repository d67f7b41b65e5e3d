"""Security headers on every response (the CSP allows only the page's own stylesheet), and https only.

Both platforms terminate TLS in front of the app and say how a request arrived in X-Forwarded-Proto.
Emissary redirects plain http itself; Heroku's router passes it through, so the app redirects it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, redirect, request

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    # browsers ignore it over plain http (local runs); both platforms serve the app over https
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app: Flask, force_https: bool) -> None:
    if force_https:

        @app.before_request
        def redirect_plain_http() -> Response | None:
            if request.headers.get("X-Forwarded-Proto", "").lower() != "http":
                return None  # https, or no proxy in front (a probe, or a local run)
            secure = urlsplit(request.url)._replace(scheme="https").geturl()
            # 308 keeps the method and body of anything but a GET or HEAD
            return redirect(secure, 301 if request.method in ("GET", "HEAD") else 308)

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype != "text/css":
            # every page and API answer is fresh random data: never cache it
            response.headers.setdefault("Cache-Control", "no-store")
        return response
