"""The actors web app: random actors from the DVD rental database, and which server answered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment (or `environ`, for tests); debug mode is never on."""
    # Imported here so that `python -m actors.seed`, the release step, does not load the web stack.
    from flask import Flask

    from actors import api, config, db, errors, health, logs, metrics, pages, security

    settings = config.from_environ(environ)
    app = Flask(__name__)
    app.config.update(
        DEBUG=False,  # the Werkzeug debugger runs code for whoever sees it: never, whatever FLASK_DEBUG says
        PROPAGATE_EXCEPTIONS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
        SERVER_NAME_SHOWN=settings.server_name,
    )
    logs.init_app(app, settings.log_level)
    metrics.init_app(app)
    security.init_app(app, settings.force_https)
    errors.init_app(app)
    db.init_app(app, settings)
    for blueprint in (pages.bp, api.bp, health.bp):
        app.register_blueprint(blueprint)
    return app
