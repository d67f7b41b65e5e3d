"""The actors web app: random actors from the DVD rental database, and which server answered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment (or `environ`, for tests); debug mode is never on.

    Raises `actors.config.ConfigError` for a bad setting. The database pool starts connecting in the
    background: the app is built, and answers, whether or not the database is up.
    """
    # Imported here so that `python -m actors.seed`, the release step, does not load the web stack.
    from flask import Flask

    from actors import api, config, db, errors, health, logs, metrics, pages, security, wsgi

    settings = config.from_environ(environ)
    app = Flask(__name__)
    app.request_class, app.response_class = wsgi.Request, wsgi.Response
    app.config.update(
        DEBUG=False,  # the Werkzeug debugger runs code for whoever sees it: never, whatever FLASK_DEBUG says
        PROPAGATE_EXCEPTIONS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
        SERVER_NAME_SHOWN=settings.server_name,
    )
    logs.configure(settings.log_level)
    security.init_app(app, settings.force_https)
    errors.init_app(app)
    db.init_app(app, settings)
    metrics.watch_pool(db.get_from(app).pool)
    pages.init_app(app)
    for blueprint in (pages.bp, api.bp, health.bp, metrics.bp):
        app.register_blueprint(blueprint)
    app.wsgi_app = wsgi.Observed(app.wsgi_app)
    return app
