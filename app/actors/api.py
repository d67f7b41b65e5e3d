"""The same data as the page, as JSON."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from actors.sample import parse_count, random_actors

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/actors")
def actors() -> dict:
    count = parse_count(request.args.get("count"))
    found = random_actors(count)
    return {
        "server": current_app.config["SERVER_NAME_SHOWN"],
        "count": len(found),
        "actors": [actor._asdict() for actor in found],
    }
