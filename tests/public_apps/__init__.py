"""Public apps, not written for paasport, planned and run through the app contract (issue 19).

`EXPECTED` is written out from each app's own Procfile and app.json (never read back from the contract reader),
so the plans are judged against what the app says, not against what the program made of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.support import REPO, HerokuSide, heroku_shipped

FIXTURES = REPO / "tests" / "fixtures" / "apps"


@dataclass(frozen=True)
class Expected:
    """What one app states, in its own words."""

    web: str  # the Procfile's web command
    release: str | None  # the Procfile's release command
    workers: dict[str, str] = field(default_factory=dict)  # worker type -> command
    reads_database_url: bool = True  # else libpq's PG* variables
    secrets: tuple[str, ...] = ()  # app.json env with generator: secret
    config: dict[str, str] = field(default_factory=dict)  # app.json env values
    page: str = "/"  # a page that reads the database
    page_text: str = ""  # what that page shows
    headers: dict[str, str] = field(default_factory=dict)  # what the router/ingress adds that the app needs


# Three frameworks, two languages; DATABASE_URL read by one, libpq's PG* variables by two; a release command in two,
# a worker in one.
EXPECTED: dict[str, Expected] = {
    "django-getting-started": Expected(
        web="gunicorn --config gunicorn.conf.py gettingstarted.wsgi",
        release="./manage.py migrate --no-input",
        secrets=("DJANGO_SECRET_KEY",),
        page="/db/", page_text="Page View Report",
        headers={"X-Forwarded-Proto": "https"},  # with DYNO set it redirects plain http to https
    ),
    "express-postgres": Expected(
        web="yarn start", release=None, reads_database_url=False,
        config={"PGSSLMODE": "no-verify"},
        page="/", page_text="The time from the DB is",
    ),
    "fastapi-pgqueuer": Expected(
        web="uvicorn --factory examples.fastapi_usage:create_app --host 0.0.0.0 --port $PORT",
        release="(pgq verify --expect present || pgq install) && pgq upgrade",
        workers={"worker": "pgq run examples.consumer:main"},
        reads_database_url=False,
        page="/queue-size", page_text="[",
    ),
}
APPS = tuple(EXPECTED)

# The images' build args: the bases a machine without Docker Hub stands in for.
NODE_IMAGE_ARG = "NODE_IMAGE"


def app_dir(name: str) -> Path:
    return FIXTURES / name


def config_override(name: str) -> str:
    """The stack setting that points the program at the app, as a user writes it (relative to the project)."""
    return f"app_dir={app_dir(name).relative_to(REPO)}"


def heroku_side(name: str) -> HerokuSide:
    """The heroku stack's plan for `name`, and the heroku.yml of the archive its Build would upload."""
    return heroku_shipped(config_override(name))
