"""The embedded PostgreSQL of `make local` and the tests, where the pgserver wheel is not to be had."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from devenv import postgres


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
