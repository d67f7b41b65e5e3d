"""The human page: a few random actors and the server that answered."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from actors.sample import parse_count, random_actors

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    count = parse_count(request.args.get("count"))
    return render_template(
        "index.html", actors=random_actors(count), server=current_app.config["SERVER_NAME_SHOWN"]
    )
