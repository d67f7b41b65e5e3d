"""The human page: a few random actors and the server that answered."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, request

from actors.sample import Actor, parse_count, random_actors

bp = Blueprint("pages", __name__)


def init_app(app: Flask) -> None:
    """Give the templates the static files' URLs once, instead of a `url_for` per use per request."""
    app.jinja_env.globals.update(
        stylesheet_url=f"{app.static_url_path}/style.css", favicon_url=f"{app.static_url_path}/favicon.svg"
    )


@bp.get("/")
def index() -> str:
    count = parse_count(request.args.get("count"))
    # the compiled template (Jinja caches it), rendered with only what it shows: no context
    # processors or signals, which `render_template` would run on every request
    template = current_app.jinja_env.get_template("index.html")
    # names as people write them ("PENELOPE" -> "Penelope"): str.title, not Jinja's regex-based filter
    shown = [Actor(actor.actor_id, actor.first_name.title(), actor.last_name.title()) for actor in random_actors(count)]
    return template.render(actors=shown, server=current_app.config["SERVER_NAME_SHOWN"])
