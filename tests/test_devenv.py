"""The embedded PostgreSQL of `make local` and the tests, where the pgserver wheel is not to be had."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from devenv import postgres


def test_an_installed_postgresql_serves_where_pgserver_cannot(tmp_path):
    installed = postgres._installed_bin_dir()
    if installed is None:
        pytest.skip("no PostgreSQL installed on this machine (apt-get install postgresql)")
    with (
        postgres.EmbeddedPostgres(tmp_path / "data", durable=False, binaries=installed) as server,
        psycopg.connect(server.url()) as conn,
    ):
        [[version]] = conn.execute("SHOW server_version").fetchall()
    banner = subprocess.run([installed / "postgres", "--version"], capture_output=True, text=True).stdout
    assert version.split()[0] in banner


def test_without_any_postgresql_the_message_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "pgserver", None)  # as on Python 3.13, where the wheel does not install
    monkeypatch.setattr(postgres, "_installed_bin_dir", lambda: None)
    postgres.bin_dir.cache_clear()
    try:
        with pytest.raises(postgres.PostgresNotFound, match=r"Use Python 3\.12, install PostgreSQL .* DATABASE_URL"):
            postgres.bin_dir()
    finally:
        postgres.bin_dir.cache_clear()
