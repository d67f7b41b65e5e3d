"""Shared fixtures: one embedded PostgreSQL server per test session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from actors import create_app
from devenv.postgres import EmbeddedPostgres, tools_env
from devenv.servers import serving as devenv_serving

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "app"
SHARED = REPO.parent / "shared"
DVDRENTAL_TAR = SHARED / "data" / "dvdrental.tar"
SCHEMAS_DIR = SHARED / "schemas"

_database_names = (f"test_{n}" for n in itertools.count())


@pytest.fixture(scope="session")
def postgres() -> EmbeddedPostgres:
    """A real PostgreSQL server (the pgserver wheel's binaries) for the whole session."""
    # Not under pytest's basetemp: every pytest run makes that 0700 again, and as root the
    # server runs as another user, who must be able to reach its folder throughout.
    top = Path(tempfile.mkdtemp(prefix="paasport-pg-"))
    try:
        with EmbeddedPostgres(top / "data", durable=False) as server:
            yield server
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def empty_database_url(postgres: EmbeddedPostgres) -> str:
    """The URL of a new, empty database on the session's server."""
    if not postgres.running:  # an outage test may have left it stopped
        postgres.start()
    return postgres.create_database(next(_database_names))


@pytest.fixture
def pg_tools_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the embedded server's pg_restore and pg_dump first on PATH, as `make local` does."""
    monkeypatch.setenv("PATH", tools_env()["PATH"])


@pytest.fixture
def dvdrental_tar() -> Path:
    if not DVDRENTAL_TAR.is_file():
        pytest.skip(f"needs the shared DVD rental archive at {DVDRENTAL_TAR} (absent outside the workplace)")
    return DVDRENTAL_TAR


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment a container would give: this venv's python and gunicorn first on PATH,
    no database settings of the caller's, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(overrides)
    return env


def create_actor_table(url: str, names: list[tuple[str, str]]) -> None:
    """An `actor` table shaped like the DVD rental one, holding `names` in order of id."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE actor (actor_id serial PRIMARY KEY, first_name varchar(45) NOT NULL,"
            " last_name varchar(45) NOT NULL, last_update timestamp NOT NULL DEFAULT now())"
        )
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO actor (first_name, last_name) VALUES (%s, %s)", names)


@pytest.fixture(scope="session")
def actors_database_url(postgres: EmbeddedPostgres) -> str:
    """A database with 200 made-up actors: the app's tests need no shared data."""
    url = postgres.create_database("actors_app")
    create_actor_table(url, [(f"ACTOR{n}", f"NUMBER{n}") for n in range(1, 201)])
    return url


@pytest.fixture
def app(actors_database_url: str, postgres: EmbeddedPostgres) -> Flask:
    if not postgres.running:
        postgres.start()
    application = create_app({"DATABASE_URL": actors_database_url, "HOSTNAME": "test-host"})
    yield application
    application.extensions["actors.db"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def serving(command: list[str] | str, env: dict[str, str], *, shell: bool = False):
    """Serve `command` from app/ (as the container and Heroku do) on a free port until the block ends."""
    return devenv_serving(command, env, cwd=APP_DIR, shell=shell)


def booted_workers(server) -> int:
    return sum("Booting worker" in line for line in server.lines)


def wait_for_workers(server, count: int, timeout: float = 15) -> None:
    """gunicorn answers once its first worker is up; wait until `count` have booted."""
    deadline = time.monotonic() + timeout
    while booted_workers(server) < count:
        assert time.monotonic() < deadline, f"fewer than {count} workers booted:\n{server.output}"
        time.sleep(0.05)


GUNICORN = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "actors:create_app()"]
