"""`make local`, and the embedded PostgreSQL of `make local` and the tests where the pgserver wheel is not to be
had."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from devenv import postgres
from devenv.servers import serving
from tests.app.test_faults import STOP_TRIALS, assert_stops_in_time, idle_keep_alive_connection
from tests.support import REPO, clean_env, wait_for_workers


@pytest.fixture
def without_pgserver(monkeypatch: pytest.MonkeyPatch):
    """As on Python 3.13, where the pgserver wheel does not install."""
    monkeypatch.setitem(sys.modules, "pgserver", None)
    postgres.bin_dir.cache_clear()
    yield
    postgres.bin_dir.cache_clear()


def test_an_installed_postgresql_serves_where_pgserver_cannot(without_pgserver, tmp_path):
    installed = shutil.which("pg_ctl") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))), None)
    if installed is None:
        pytest.skip("no PostgreSQL installed on this machine (apt-get install postgresql)")
    with (
        postgres.EmbeddedPostgres(tmp_path / "data", durable=False) as server,
        psycopg.connect(server.url()) as conn,
    ):
        [[version]] = conn.execute("SHOW server_version").fetchall()
    assert "pgserver" not in str(server.binaries)
    banner = subprocess.run([server.binaries / "postgres", "--version"], capture_output=True, text=True).stdout
    assert version.split()[0] in banner


def test_without_any_postgresql_the_message_says_what_to_do(without_pgserver, monkeypatch, tmp_path):
    if any(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("Debian's PostgreSQL is installed under /usr/lib/postgresql: it cannot be hidden from the lookup")
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_config, no pg_ctl
    with pytest.raises(postgres.PostgresNotFound, match=r"Use Python 3\.12, install PostgreSQL .* DATABASE_URL"):
        postgres.bin_dir()


def test_make_local_stops_at_ctrl_c_with_idle_keep_alive_connections_open(actors_database_url):
    # With DATABASE_URL set, `make local` serves on it (no embedded server to stop): what remains is the app's stop.
    env = clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="2")
    for trial in range(1, STOP_TRIALS + 1):
        with serving([sys.executable, "-m", "devenv.local"], env, cwd=REPO) as local:
            wait_for_workers(local, 2)
            idle = [idle_keep_alive_connection(local) for _ in range(4)]
            os.killpg(local.process.pid, signal.SIGINT)  # Ctrl-C in the terminal of `make local`
            assert_stops_in_time(local, f"stop {trial}: `make local`")
            assert "local: serving on http://localhost:" in local.output
            for conn in idle:
                conn.close()
