"""A dump as the source: the restore drill restores it into a server of its own, moves it, and verifies the target
against it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devenv.postgres import EmbeddedPostgres
from tests.support import REPO


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    debian = sorted(d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "postgres").exists())
    if not debian:
        pytest.skip("needs an installed PostgreSQL (apt-get install postgresql): the drill restores into one")
    top = tmp_path_factory.mktemp("drill")
    top.chmod(0o755)
    with EmbeddedPostgres(top / "data", durable=False, binaries=debian[-1]) as pg:
        yield pg


def _move(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "move", *args, "--yes"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_a_dump_moves_into_the_target_verified_against_its_own_contents(server: EmbeddedPostgres,
                                                                        tmp_path: Path) -> None:
    source = server.ensure_database("drill_source")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE TYPE colour AS ENUM ('red', 'green')")
        conn.execute("CREATE TABLE paint (id int PRIMARY KEY, colour colour, note text)")
        conn.execute("INSERT INTO paint SELECT n, CASE WHEN n % 2 = 0 THEN 'red' ELSE 'green' END::colour,"
                     " 'tab\there' FROM generate_series(1, 1000) n")
    dump = tmp_path / "backup.dump"
    subprocess.run([str(Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]) / "pg_dump"),
                    "--format=custom", f"--file={dump}", source], check=True)
    target = server.ensure_database("drill_target")

    result = _move("--from", str(dump), "--to", target)

    assert result.returncode == 0, result.stderr
    assert f"restore drill passed: {target} holds the dump {dump}, verified" in result.stdout
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*), count(*) FILTER (WHERE colour = 'red'), min(note) FROM paint"
                            ).fetchone() == (1000, 500, "tab\there")


def test_a_file_that_is_no_dump_is_one_line(server: EmbeddedPostgres, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a dump\n")
    target = server.ensure_database("drill_junk_target")

    result = _move("--from", str(junk), "--to", target)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"move: source {junk}: pg_restore cannot read it (pg_restore: error: input file does not appear to be a "
        "valid archive (too short?)): give a pg_dump archive (--format=custom, directory or tar)"]
