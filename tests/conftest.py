"""Shared fixtures: one embedded PostgreSQL server per test session, a fresh database per test, the app."""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from actors import create_app
from devenv.postgres import EmbeddedPostgres, create_actor_table, tools_env

# the infra and offline tests still import these from here; they live in tests/support.py
from tests.support import APP_DIR, DVDRENTAL_TAR, REPO, SCHEMAS_DIR, SHARED  # noqa: F401

_database_names = (f"test_{n}" for n in itertools.count())


@pytest.fixture(scope="module", autouse=True)
def _remove_built_images() -> Iterator[None]:
    """After each module, the images it built (tests/containers.py): kept, a full run's would fill a CI disk."""
    yield
    if (harness := sys.modules.get("tests.containers")) is not None:
        harness.remove_built_images()


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL server (the pgserver wheel's binaries, else an installed one) for the whole session."""
    # Not under pytest's basetemp: every pytest run makes that 0700 again, and as root the
    # server runs as another user, who must be able to reach its folder throughout.
    top = Path(tempfile.mkdtemp(prefix="paasport-pg-"))
    try:
        with EmbeddedPostgres(top / "data", durable=False) as server:
            yield server
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def running_postgres(postgres: EmbeddedPostgres) -> EmbeddedPostgres:
    """The session's server, started again if an outage test left it stopped."""
    if not postgres.running:
        postgres.start()
    return postgres


@pytest.fixture
def empty_database_url(running_postgres: EmbeddedPostgres) -> str:
    """The URL of a new, empty database on the session's server."""
    return running_postgres.create_database(next(_database_names))


@pytest.fixture
def pg_tools_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the embedded server's pg_restore and pg_dump first on PATH, as `make local` does."""
    monkeypatch.setenv("PATH", tools_env()["PATH"])


@pytest.fixture
def dvdrental_tar() -> Path:
    if not DVDRENTAL_TAR.is_file():
        pytest.skip(f"needs the shared DVD rental archive at {DVDRENTAL_TAR} (absent outside the workplace)")
    return DVDRENTAL_TAR


@pytest.fixture(scope="session")
def actors_database_url(postgres: EmbeddedPostgres) -> str:
    """A database with 200 made-up actors, ACTOR1 NUMBER1 to ACTOR200 NUMBER200: the app's tests need no
    shared data."""
    url = postgres.create_database("actors_app")
    create_actor_table(url, [(f"ACTOR{n}", f"NUMBER{n}") for n in range(1, 201)])
    return url


@pytest.fixture
def make_app(running_postgres: EmbeddedPostgres) -> Iterator[Callable[..., Flask]]:
    """Build apps from environment variables (`make_app(DATABASE_URL=...)`); their pools close after the test."""
    apps: list[Flask] = []

    def make(**environ: str) -> Flask:
        apps.append(create_app(environ))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["actors.db"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask], actors_database_url: str) -> Flask:
    return make_app(DATABASE_URL=actors_database_url, HOSTNAME="test-host")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
