"""`python -m actors.seed`: load the DVD rental database into PostgreSQL, the release step of both platforms.

The source is a pg_restore archive (a local path, or an https URL of a .tar or of a .zip holding one), named by
`--archive` or else `SEED_ARCHIVE`. The load is one transaction, so it is all or nothing: a second run sees the
`public.actor` table and does nothing, and a failed or killed run leaves the database as it was.
It needs only the standard library, psycopg and python-json-logger (through `actors.config` and `actors.logs`),
not the Flask app or its connection pool.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
import zlib
from pathlib import Path
from typing import IO, NoReturn
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import psycopg
from psycopg.conninfo import make_conninfo

from actors import config, logs

DEFAULT_ARCHIVE = "https://www.postgresqltutorial.com/wp-content/uploads/2019/05/dvdrental.zip"
SHOWN_PATH_CHARS = 200
# Room left beside an archive extracted from a zip: refuse a member that would leave less (or that declares more
# than there is: a zip bomb) before writing a byte.
SPARE_BYTES = 64 << 20
DOWNLOAD_TIMEOUT = 30  # seconds without progress before a download is abandoned
CONNECT_TIMEOUT = 10
# Serialises concurrent seeds (e.g. one init container per replica): the second one waits, then finds the data.
ADVISORY_LOCK_KEY = 0x5EED_AC7085
MARKER_TABLE = "public.actor"
# A `pg_restore --list` line for the marker table, e.g. "215; 1259 16757 TABLE public actor postgres".
MARKER_TOC_LINE = re.compile(r"^\d+; \d+ \d+ TABLE public actor ", re.MULTILINE)
# The `pg_restore --list` header line naming the server the archive was dumped from.
DUMPED_FROM = re.compile(r"^;\s+Dumped from database version: (\S+)", re.MULTILINE)
# pg_restore 17 starts every session with this (pg_backup_archiver.c, _doSetFixedOutputState: unconditional), and
# servers before 17 refuse it: "unrecognized configuration parameter". Restoring into those servers goes through
# pg_restore's script output, without that one line, into psql of the same version.
TIMEOUT_SETTING = b"SET transaction_timeout = 0;\n"
TIMEOUT_SETTING_SINCE = 17
PG_RESTORE_HINT = (
    "install the PostgreSQL client tools (apt-get install postgresql-client) "
    "or put the bin directory of the pgserver wheel first on PATH"
)

log = logging.getLogger("actors.seed")


class SeedError(Exception):
    """A failure that the user can act on; its message is the one line the command prints."""


class Interrupted(Exception):
    """Raised from the SIGTERM/SIGINT handler so that cleanup (stopping pg_restore) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def connection_params() -> dict[str, str]:
    """Connection parameters from `DATABASE_URL`, checked as the app checks it; {} means libpq's PG*."""
    try:
        return config.database_params(os.environ)
    except config.ConfigError as error:
        raise SeedError(str(error)) from None


def describe_target(params: dict[str, str]) -> str:
    """host:port/dbname of the database, for messages (never the user's password or the full URL)."""
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or os.environ.get("PGUSER")
    return f"{host}:{port}/{dbname or '(default)'}"


def first_line(error: Exception) -> str:
    """The gist of an exception's message (libpq adds hint lines), or its type when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def connect(params: dict[str, str]) -> psycopg.Connection:
    try:
        return psycopg.connect(**{"connect_timeout": str(CONNECT_TIMEOUT), **params}, autocommit=True)
    except psycopg.OperationalError as error:
        raise SeedError(f"cannot connect to the database at {describe_target(params)}: {first_line(error)}") from None


def count_actors(conn: psycopg.Connection) -> int | None:
    """The number of actors, or None when the data is not loaded (the load is atomic: all tables or none)."""
    if conn.execute("SELECT to_regclass(%s)", [MARKER_TABLE]).fetchone()[0] is None:
        return None
    return conn.execute(f"SELECT count(*) FROM {MARKER_TABLE}").fetchone()[0]  # noqa: S608 - a constant


def find_pg_restore(program: str = "pg_restore") -> str:
    path = shutil.which(program)
    if path is None:
        raise SeedError(f"{program} not found on PATH: {PG_RESTORE_HINT}")
    return path


def major_of(version: str) -> int:
    """The major version in "17.12", "9.6.24" or "pg_restore (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)"."""
    numbers = re.search(r"(\d+)(?:\.(\d+))?", version)
    if numbers is None:
        raise SeedError(f"cannot read a PostgreSQL version in {version!r}")
    major = int(numbers[1])
    return major if major >= 10 or numbers[2] is None else major * 100 + int(numbers[2])  # 9.6 is a major of its own


def client_major(pg_restore: str) -> int:
    found = subprocess.run([pg_restore, "--version"], capture_output=True, text=True, errors="replace", check=False)
    return major_of(found.stdout)


def server_release(conn: psycopg.Connection) -> str:
    """The server's version as it prints it (e.g. 15.13), from the version number libpq reports."""
    number = conn.info.server_version
    return f"{number // 10000}.{number % 10000}" if number >= 100000 else f"{number // 10000}.{number // 100 % 100}"


def shown_url(url: str) -> str:
    """The URL without credentials or query string (a presigned URL's token is a secret), cut short."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:  # a port out of range, a bad IPv6 literal: show no host rather than what may be a secret
        return "(an invalid URL)"
    return shown_path(f"{parts.scheme}://{netloc}{parts.path}")


def download(url: str, dest: Path, fix: str) -> None:
    """Fetch an https URL to `dest`, with a timeout, refusing redirects to plain http; a failure says `fix`."""
    shown = shown_url(url)
    try:
        _download(url, dest, shown)
    except SeedError as error:
        raise SeedError(f"{error}. Fix: {fix}") from None


def download_fix(channel: str, given: str) -> str:
    """What to do when the archive cannot be downloaded: name the variable (or option) that would avoid it."""
    if channel == "--archive":
        return "give --archive an https URL this machine can reach, or the path of a local copy (.tar or .zip)"
    if not given.strip():  # the default download: the usual failure of a machine without network access
        return ("set SEED_ARCHIVE to the path of a local copy of the archive (the .zip, or the dvdrental.tar in it) "
                "to load without the network")
    return "set SEED_ARCHIVE to an https URL this machine can reach, or to the path of a local copy (.tar or .zip)"


def _download(url: str, dest: Path, shown: str) -> None:
    try:
        with urlopen(Request(url, headers={"User-Agent": "paasport-seed/1"}), timeout=DOWNLOAD_TIMEOUT) as response:  # noqa: S310 - https only, checked by the caller
            if urlsplit(response.geturl()).scheme != "https":
                raise SeedError(f"cannot download {shown}: it redirects to a URL that is not https")
            length = response.headers.get("Content-Length")
            size = f"{int(length) / 1e6:.1f} MB" if length and length.isdigit() else "size unknown"
            log.info(f"downloading {shown} ({size})", extra={"url": shown})
            with dest.open("wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
    except HTTPError as error:
        raise SeedError(f"cannot download {shown}: HTTP {error.code} {error.reason}") from None
    except URLError as error:
        raise SeedError(f"cannot download {shown}: {error.reason}") from None
    except (OSError, http.client.HTTPException, ValueError) as error:  # ValueError: a URL urllib cannot use
        raise SeedError(f"cannot download {shown}: {error or type(error).__name__}") from None


def extract_from_zip(path: Path, workdir: Path) -> Path:
    """The single .tar (or the only file) in a zip, extracted into `workdir`."""
    try:
        with zipfile.ZipFile(path) as bundle:
            files = [m for m in bundle.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
            tars = [m for m in files if m.filename.lower().endswith(".tar")]
            candidates = tars or (files if len(files) == 1 else [])
            if len(candidates) != 1:
                names = ", ".join(m.filename for m in files) or "nothing"
                raise SeedError(f"zip archive {path.name} must hold exactly one .tar archive; it holds {names}")
            member = candidates[0]
            free = shutil.disk_usage(workdir).free
            if member.file_size > free - SPARE_BYTES:
                raise SeedError(f"zip archive {path.name} holds {member.filename}, of {member.file_size / 1e6:.1f} MB "
                                f"once extracted: more than the {max(free - SPARE_BYTES, 0) / 1e6:.1f} MB free in "
                                f"{workdir.parent}")
            log.info(f"extracting {member.filename} from {path.name}")
            target = workdir / "extracted" / safe_name(member.filename, "archive.tar")
            target.parent.mkdir()
            with bundle.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            return target
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:  # NotImplemented: compression
        raise SeedError(f"zip archive {path.name} is corrupt: {error}") from None
    except RuntimeError as error:  # an encrypted member
        raise SeedError(f"zip archive {path.name} cannot be read: {error}") from None
    except OSError as error:  # the disk filled up after all
        raise SeedError(f"cannot extract from zip archive {path.name}: {error.strerror or error}") from None


def shown_path(path: Path | str) -> str:
    """A path for a message, cut short (a pasted file must not flood the log)."""
    text = str(path)
    return text if len(text) <= SHOWN_PATH_CHARS else text[:SHOWN_PATH_CHARS] + "…"


def check_source(source: str, channel: str) -> str:
    """`source` stripped, checked before anything else happens (the database is not even reached); SeedError names
    `channel` (SEED_ARCHIVE or --archive) when the value cannot be used: by its form (`config.seed_archive_problem`,
    the stack's `seed_archive` rule too) or, for a local path, because there is no file there."""
    source = source.strip() or DEFAULT_ARCHIVE
    problem = config.seed_archive_problem(source)
    if problem is not None:
        if "://" in source and not source.startswith("https://"):
            raise SeedError(f"{channel}: archive URL must be https:// (or use a local path): {shown_url(source)}")
        if "://" in source and "@" in source.split("://", 1)[1].split("/", 1)[0]:
            raise SeedError(f"{channel}: the archive URL holds credentials (USER:PASSWORD@), which are never sent: "
                            f"use a presigned URL or a local path: {shown_url(source)}")
        shown = shown_url(source) if "://" in source else config.show(source)
        raise SeedError(f"{channel} {problem}: {shown}")
    if "://" not in source:
        local_path(source, channel)
    return source


def safe_name(path: str, default: str) -> str:
    """The last part of `path` (of a URL or a zip member) as a file name inside the work directory: never "..",
    never a folder, never too long for the file system, whatever the name it was given."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return default if name in ("", ".", "..") or len(name.encode(errors="replace")) > 200 else name


def local_path(source: str, channel: str = "archive") -> Path:
    """The existing file or directory `source` names (absolute: pg_restore must never take it for an option)."""
    path = Path(source).expanduser()
    try:
        found = path.exists()
    except (OSError, ValueError) as error:  # e.g. a name too long for the file system
        raise SeedError(f"{channel} names a path that cannot be read ({getattr(error, 'strerror', None) or error}): "
                        f"{shown_path(path)}") from None
    if not found:
        raise SeedError(f"archive not found: {shown_path(path)} (from {channel})")
    return path.absolute()


def fetch_archive(source: str, workdir: Path, fix: str) -> Path:
    """A local pg_restore archive for `source` (path or https URL of a .tar or .zip), downloaded/extracted if needed;
    a failed download says `fix`."""
    if "://" in source:
        if urlsplit(source).scheme != "https":
            raise SeedError(f"archive URL must be https:// (or use a local path): {shown_url(source)}")
        path = workdir / safe_name(urlsplit(source).path, "download")
        download(source, path, fix)
    else:
        path = local_path(source)
    if path.is_file() and zipfile.is_zipfile(path):
        path = extract_from_zip(path, workdir)
    return path


def check_tar_is_whole(archive: Path) -> None:
    """Fail unless every member and the end-of-archive marker are there.

    pg_restore loads what there is of a tar archive cut short, and exits 0: it would commit partial tables.
    """
    try:
        with tarfile.open(archive, "r:") as tar:
            tar.getmembers()
            end = tar.offset
        with archive.open("rb") as data:
            data.seek(end)
            whole = data.read(1024) == bytes(1024)
    except tarfile.TarError:
        whole = False
    if not whole:
        raise SeedError(f"archive {archive.name} is truncated or damaged: its tar structure ends early")


def check_archive(pg_restore: str, archive: Path) -> tuple[int, str | None]:
    """Check the archive is whole and readable by pg_restore and is the DVD rental; the number of objects in it
    and the version of the server it was dumped from (None where the archive does not say)."""
    if archive.is_file() and tarfile.is_tarfile(archive):
        check_tar_is_whole(archive)
    listing = subprocess.run(
        [pg_restore, "--list", str(archive)], capture_output=True, text=True, errors="replace", check=False
    )
    if listing.returncode != 0:
        detail = pg_restore_error(listing.stderr)
        if detail.startswith("unsupported version"):
            raise SeedError(f"archive {archive.name} needs a newer pg_restore than {pg_restore}: {detail}")
        raise SeedError(f"archive {archive.name} is corrupt or not a pg_restore archive: {detail}")
    if not MARKER_TOC_LINE.search(listing.stdout):
        raise SeedError(f"archive {archive.name} has no table {MARKER_TABLE}: it is not the DVD rental database")
    objects = sum(1 for line in listing.stdout.splitlines() if line.strip() and not line.startswith(";"))
    dumped_from = DUMPED_FROM.search(listing.stdout)
    return objects, dumped_from[1] if dumped_from else None


def check_server_can_take(archive: Path, dumped_from: str | None, server: str, target: str) -> None:
    """Refuse a server older than the one the archive was dumped from: the archive may use what it lacks, and
    pg_dump's output is not meant to load into an older major version (PostgreSQL docs, pg_dump, Notes)."""
    if dumped_from is not None and major_of(dumped_from) > major_of(server):
        raise SeedError(f"archive {archive.name} was dumped from PostgreSQL {dumped_from}, newer than PostgreSQL "
                        f"{server} at {target}: load it into PostgreSQL {major_of(dumped_from)} or later, or dump "
                        f"the data again from a server of version {major_of(server)} or older")


def pg_restore_error(stderr: str) -> str:
    """The first error pg_restore reported, without its "pg_restore: error:" prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("pg_restore: error:")]
    first = errors[0] if errors else (lines[-1] if lines else "no message")
    return first.removeprefix("pg_restore: error:").removeprefix("pg_restore:").strip()


def without_timeout_setting(script: IO[bytes], sink: IO[bytes]) -> bool:
    """Copy pg_restore's script to psql without pg_restore 17's `SET transaction_timeout` lines (never inside COPY
    data, where the same bytes would be a row); close `sink` at the end, so that psql sees the end of its input.
    False when `sink` closed first (psql stopped at an error: its message tells why)."""
    in_copy = False
    try:
        for line in script:
            if in_copy:
                in_copy = line != b"\\.\n"
            elif line.startswith(b"COPY ") and line.endswith(b" FROM stdin;\n"):
                in_copy = True
            elif line == TIMEOUT_SETTING:
                continue
            sink.write(line)
    except (BrokenPipeError, ValueError):
        return False
    finally:
        with contextlib.suppress(BrokenPipeError):
            sink.close()
    return True


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate, then kill: ending the client closes its connection, and the server rolls its transaction back."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def restore(pg_restore: str, archive: Path, params: dict[str, str], *, force: bool, server_major: int) -> None:
    """Run pg_restore in one transaction, reporting each table it fills; stop it if we are told to stop.

    Into a server older than pg_restore's `SET transaction_timeout` (before 17), pg_restore writes its script and
    psql of the same client runs it, without that line: same statements, same single transaction.
    """
    env = dict(os.environ)
    if "password" in params:
        env["PGPASSWORD"] = params["password"]  # the environment, not the command line: ps shows argv to everyone
    # Only the user's own parameters (none: libpq reads the PG* variables, as psycopg did), so that an older
    # pg_restore's libpq never meets an option it does not know.
    conninfo = make_conninfo(**{key: value for key, value in params.items() if key != "password"})
    command = [pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--verbose"]
    if force:
        command += ["--clean", "--if-exists"]  # drop and reload inside the same transaction
    through_psql = server_major < TIMEOUT_SETTING_SINCE <= client_major(pg_restore)
    if through_psql:
        psql_path = find_pg_restore("psql")
        command += ["--file", "-", str(archive)]
    else:
        command += ["--dbname", conninfo, str(archive)]
    stderr: list[str] = []
    psql_stderr: list[bytes] = []
    processes = [subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if through_psql else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )]
    threads = []
    try:
        if through_psql:
            psql = subprocess.Popen(
                [psql_path, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--dbname", conninfo],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
            processes.append(psql)

            def pump() -> None:
                # psql gone: pg_restore would block on a full pipe, and never end
                if not without_timeout_setting(processes[0].stdout.buffer, psql.stdin):
                    processes[0].terminate()

            threads = [threading.Thread(target=pump), threading.Thread(target=lambda: psql_stderr.extend(psql.stderr))]
            for thread in threads:
                thread.start()
        for line in processes[0].stderr:
            stderr.append(line)
            table = re.match(r'pg_restore: processing data for table "(.+)"', line)
            if table:
                log.info(f"loading table {table[1]}", extra={"table": table[1]})
        returncodes = [process.wait() for process in reversed(processes)]
        for thread in threads:
            thread.join()
    except BaseException:
        stop(processes)
        raise
    if through_psql and returncodes[0] != 0:  # psql's error comes first: pg_restore then fails on a closed pipe
        raise SeedError(f"restore failed, the database is left as it was: {psql_error(b''.join(psql_stderr))}")
    if returncodes[-1] != 0:
        raise SeedError(f"restore failed, the database is left as it was: {pg_restore_error(''.join(stderr))}")


def psql_error(stderr: bytes) -> str:
    """The first error psql reported, without its "psql:<stdin>:LINE:" prefix."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR:" in line or "FATAL:" in line or "error:" in line]
    first = errors[0] if errors else (lines[-1] if lines else "no message")
    return re.sub(r"^psql:(?:<stdin>:\d+:)?\s*(?:error:\s*)?", "", first)


def seed(source: str, *, force: bool, channel: str = "SEED_ARCHIVE") -> None:
    """Load the archive unless the data is already there (or `force`), holding a lock against concurrent seeds.

    Its inputs (`source`, named by `channel`, and DATABASE_URL) are checked first: a bad one fails even when the data
    is already there, before the database is reached.
    """
    fix = download_fix(channel, source)
    source = check_source(source, channel)
    params = connection_params()
    with connect(params) as conn:
        target = f"{conn.info.host}:{conn.info.port}/{conn.info.dbname}"
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY]).fetchone()[0]:
            log.info(f"another seed is running on {target}; waiting for it to finish")
            conn.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        actors = count_actors(conn)
        if actors is not None and not force:
            log.info(
                f"already loaded: {actors} actors in {target}; nothing to do (--force reloads)",
                extra={"target": target, "actors": actors},
            )
            return
        pg_restore = find_pg_restore()
        with tempfile.TemporaryDirectory(prefix="actors-seed-") as workdir:
            archive = fetch_archive(source, Path(workdir), fix)
            objects, dumped_from = check_archive(pg_restore, archive)
            server = server_release(conn)
            check_server_can_take(archive, dumped_from, server, target)
            verb = "reloading" if actors is not None else "restoring"
            log.info(f"{verb} {objects} objects into {target} (PostgreSQL {server})",
                     extra={"target": target, "objects": objects, "server_version": server})
            started = time.monotonic()
            restore(pg_restore, archive, params, force=force, server_major=major_of(server))
        seconds = round(time.monotonic() - started, 1)
        actors = count_actors(conn)
        log.info(
            f"loaded: {actors} actors in {seconds} s", extra={"target": target, "actors": actors, "seconds": seconds}
        )


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line like every other error (not usage text and a line of its own)."""

    def error(self, message: str) -> NoReturn:
        raise SeedError(f"{message} (python -m actors.seed --help lists the options)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog="python -m actors.seed",
        description="Load the DVD rental database into the empty database named by DATABASE_URL (else PG* variables). "
        "A no-op when it is already loaded; the load is one transaction.",
    )
    parser.add_argument(
        "--archive",
        default=None,
        help="pg_restore archive: a local path, or an https URL of a .tar or a .zip holding one "
        f"(default: $SEED_ARCHIVE if set, else {DEFAULT_ARCHIVE})",
    )
    parser.add_argument(
        "--force", action="store_true", help="reload even if already loaded (drop and reload in one transaction)"
    )
    return parser.parse_args(argv)


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success or no-op, else one error line on stderr and a non-zero status."""
    logs.configure("INFO", problems_to_stderr=True)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        args = parse_args(argv)
        if args.archive is not None:
            source, channel = args.archive, "--archive"
        else:
            source, channel = os.environ.get("SEED_ARCHIVE", ""), "SEED_ARCHIVE"
        seed(source, force=args.force, channel=channel)
    except SeedError as error:
        log.error(str(error))
        return 1
    except Interrupted as stop:
        log.error(f"interrupted by {stop}: the load was cancelled and the database is left as it was")
        return 128 + stop.signum
    except psycopg.Error as error:
        log.error(f"database error: {first_line(error)}")
        return 1
    except Exception as error:  # the user gets one line, never a traceback
        log.error(f"unexpected error: {type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
