"""Shared fixtures: one embedded PostgreSQL server per test session, a fresh database per test."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from actors import create_app
from devenv.postgres import EmbeddedPostgres, free_port, tools_env

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


class Server:
    """A process serving HTTP on 127.0.0.1, with everything it printed so far."""

    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]

    def wait_until_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not become healthy; it printed:\n{self.output}")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(5)
        return self.process.returncode


@contextmanager
def serving(command: list[str] | str, env: dict[str, str], *, shell: bool = False) -> Iterator[Server]:
    """Run `command` in app/ (as the container and Heroku do) on a free port until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        command,
        shell=shell,
        cwd=APP_DIR,
        env={**env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = Server(process, port)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.stop()


GUNICORN = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "actors:create_app()"]
