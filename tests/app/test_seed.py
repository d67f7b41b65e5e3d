"""`python -m actors.seed`, run as the release step runs it: a subprocess against a real PostgreSQL, no network."""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from actors.seed import major_of, without_timeout_setting
from devenv.postgres import EmbeddedPostgres, bin_dir, free_port
from tests.support import APP_DIR, clean_env

pytestmark = pytest.mark.usefixtures("pg_tools_path")

SLOW_ROWS = 200  # at 10 ms of pg_sleep each, the slow archive's COPY takes about 2 s


def run_seed(database_url: str | None, archive: str | Path | None, *args: str, timeout: float = 120, **env: str):
    """Run the seed command to completion, as the platforms' release phase does."""
    overrides = {"DATABASE_URL": database_url, **env} if database_url else env
    if archive is not None:
        overrides["SEED_ARCHIVE"] = str(archive)
    return subprocess.run(
        [sys.executable, "-m", "actors.seed", *args],
        cwd=APP_DIR,
        env=clean_env(**overrides),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def messages(output: str) -> list[str]:
    """The messages of the command's JSON log lines."""
    return [json.loads(line)["message"] for line in output.splitlines()]


def assert_one_error(result: subprocess.CompletedProcess, expected: str) -> None:
    """A failure is a non-zero status and exactly one JSON error line on stderr, never a traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    record = json.loads(lines[0])
    assert record["level"] == "ERROR"
    assert expected in record["message"]


def query(url: str, statement: str, params: list | None = None):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchone()[0]


def public_tables(url: str) -> list[str]:
    return query(
        url, "SELECT coalesce(array_agg(tablename ORDER BY tablename), '{}') FROM pg_tables WHERE schemaname = 'public'"
    )


def actor_counts(url: str) -> tuple[int, int]:
    """(rows, distinct actor ids) in public.actor: equal when a reload left no duplicates."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT actor_id) FROM public.actor").fetchone()


def pg_dump(postgres: EmbeddedPostgres, dbname: str, setup_sql: str | sql.Composed, archive: Path) -> Path:
    """A tar-format pg_restore archive of a new database made by `setup_sql`."""
    url = postgres.create_database(dbname)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(setup_sql)
    subprocess.run([str(bin_dir() / "pg_dump"), "-Ft", "-f", str(archive), url], check=True, capture_output=True)
    return archive


@pytest.fixture(scope="session")
def small_archive(postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 actors and a 20,000-row filler table, restored after actor: damage there fails a restore midway."""
    setup = """
        CREATE TABLE actor (actor_id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL);
        INSERT INTO actor (first_name, last_name) VALUES ('Penelope', 'Guiness'), ('Nick', 'Wahlberg'), ('Ed', 'Chase');
        CREATE TABLE filler AS SELECT n, md5(n::text) AS junk FROM generate_series(1, 20000) AS n;
    """
    return pg_dump(postgres, "seed_small_source", setup, tmp_path_factory.mktemp("small") / "small.tar")


@pytest.fixture(scope="session")
def slow_archive(postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SLOW_ROWS actors behind a CHECK that sleeps 10 ms per row, so a restore lasts long enough to be killed."""
    setup = sql.SQL("""
        CREATE FUNCTION slow_ok(integer) RETURNS boolean LANGUAGE sql AS 'SELECT pg_sleep(0.01) IS NOT NULL';
        CREATE TABLE actor (actor_id integer PRIMARY KEY, first_name text);
        INSERT INTO actor SELECT n, 'actor ' || n FROM generate_series(1, {rows}) AS n;
        ALTER TABLE actor ADD CONSTRAINT actor_slow CHECK (slow_ok(actor_id));
    """).format(rows=SLOW_ROWS)
    return pg_dump(postgres, "seed_slow_source", setup, tmp_path_factory.mktemp("slow") / "slow.tar")


def make_zip(path: Path, members: dict[str, Path | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in members.items():
            if isinstance(content, Path):
                bundle.write(content, name)
            else:
                bundle.writestr(name, content)
    return path


def test_loads_dvdrental_once_then_is_a_no_op_and_force_reloads(empty_database_url: str, dvdrental_tar: Path):
    first = run_seed(empty_database_url, dvdrental_tar)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    lines = messages(first.stdout)
    assert any(line.startswith("restoring ") and " objects into 127.0.0.1:" in line for line in lines)
    assert "loading table public.actor" in lines
    assert lines[-1].startswith("loaded: 200 actors in ")
    assert len(public_tables(empty_database_url)) == 15
    assert actor_counts(empty_database_url) == (200, 200)

    second = run_seed(empty_database_url, dvdrental_tar)
    assert second.returncode == 0, second.stderr
    target = empty_database_url.split("@")[1].split("?")[0]
    assert messages(second.stdout) == [f"already loaded: 200 actors in {target}; nothing to do (--force reloads)"]

    forced = run_seed(empty_database_url, dvdrental_tar, "--force")
    assert forced.returncode == 0, forced.stderr
    assert messages(forced.stdout)[0].startswith("reloading ")
    assert actor_counts(empty_database_url) == (200, 200)
    assert len(public_tables(empty_database_url)) == 15


def test_small_archive_is_idempotent_and_force_reload_has_no_duplicates(empty_database_url: str, small_archive: Path):
    assert run_seed(empty_database_url, small_archive).returncode == 0
    again = run_seed(empty_database_url, small_archive)
    assert again.returncode == 0
    assert "nothing to do" in messages(again.stdout)[0]
    forced = run_seed(empty_database_url, small_archive, "--force")
    assert forced.returncode == 0, forced.stderr
    assert messages(forced.stdout)[-1].startswith("loaded: 3 actors in ")
    assert actor_counts(empty_database_url) == (3, 3)
    assert query(empty_database_url, "SELECT count(*) FROM filler") == 20000


def test_reads_the_pg_variables_without_database_url(postgres: EmbeddedPostgres, small_archive: Path):
    url = postgres.create_database("seed_pg_variables")
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(postgres.port), "PGUSER": "postgres", "PGDATABASE": "seed_pg_variables"}
    result = run_seed(None, small_archive, **env)
    assert result.returncode == 0, result.stderr
    assert f"into 127.0.0.1:{postgres.port}/seed_pg_variables" in messages(result.stdout)[0]
    assert actor_counts(url) == (3, 3)


DISTRIBUTION_PG_RESTORE = Path("/usr/bin/pg_restore")  # Debian's postgresql-client, as the container installs it
needs_distribution_pg_restore = pytest.mark.skipif(
    not DISTRIBUTION_PG_RESTORE.exists(),
    reason=f"needs the distribution's postgresql-client ({DISTRIBUTION_PG_RESTORE})",
)


@needs_distribution_pg_restore
def test_works_with_the_distributions_older_pg_restore(empty_database_url: str, dvdrental_tar: Path):
    """Its libpq is older than psycopg's: it must get no connection option that only the newer one knows."""
    result = run_seed(empty_database_url, dvdrental_tar, PATH=f"{DISTRIBUTION_PG_RESTORE.parent}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    assert actor_counts(empty_database_url) == (200, 200)


@needs_distribution_pg_restore
def test_an_archive_newer_than_pg_restore_gives_one_clear_line(empty_database_url: str, small_archive: Path):
    result = run_seed(empty_database_url, small_archive, PATH=f"{DISTRIBUTION_PG_RESTORE.parent}:{os.environ['PATH']}")
    if result.returncode == 0:
        pytest.skip(f"{DISTRIBUTION_PG_RESTORE} reads the embedded server's pg_dump archives")
    assert_one_error(result, f"archive small.tar needs a newer pg_restore than {DISTRIBUTION_PG_RESTORE}: ")


def test_archive_option_overrides_seed_archive(empty_database_url: str, small_archive: Path, tmp_path: Path):
    result = run_seed(empty_database_url, tmp_path / "absent.tar", "--archive", str(small_archive))
    assert result.returncode == 0, result.stderr
    assert actor_counts(empty_database_url) == (3, 3)


def test_loads_the_tar_inside_a_zip(empty_database_url: str, small_archive: Path, tmp_path: Path):
    bundle = make_zip(tmp_path / "dvdrental.zip", {"dvdrental.tar": small_archive, "readme.txt": b"the sample"})
    result = run_seed(empty_database_url, bundle)
    assert result.returncode == 0, result.stderr
    assert "extracting dvdrental.tar from dvdrental.zip" in messages(result.stdout)
    assert actor_counts(empty_database_url) == (3, 3)


def truncated(archive: Path, dest: Path) -> Path:
    """A copy of `archive` cut in the middle, as an interrupted download leaves it (pg_restore would load it)."""
    data = archive.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def with_a_bad_row(archive: Path, dest: Path) -> Path:
    """A copy of `archive` with a non-integer in filler's row 5000: that COPY fails after actor is loaded."""
    data = archive.read_bytes()
    assert data.count(b"\n5000\t") == 1
    dest.write_bytes(data.replace(b"\n5000\t", b"\n50x0\t"))
    return dest


BROKEN_ARCHIVES = {
    "cut in the middle": (truncated, "archive cut.tar is truncated or damaged"),
    "a bad row": (with_a_bad_row, 'restore failed, the database is left as it was: COPY failed for table "filler"'),
}


@pytest.mark.parametrize(("damage", "expected"), BROKEN_ARCHIVES.values(), ids=BROKEN_ARCHIVES.keys())
def test_a_broken_archive_fails_and_leaves_the_database_empty(
    damage: Callable[[Path, Path], Path], expected: str, empty_database_url: str, small_archive: Path, tmp_path: Path
):
    result = run_seed(empty_database_url, damage(small_archive, tmp_path / "cut.tar"))
    assert_one_error(result, expected)
    assert public_tables(empty_database_url) == []


@pytest.mark.parametrize(("damage", "expected"), BROKEN_ARCHIVES.values(), ids=BROKEN_ARCHIVES.keys())
def test_a_failed_forced_reload_keeps_the_previous_data(
    damage: Callable[[Path, Path], Path], expected: str, empty_database_url: str, small_archive: Path, tmp_path: Path
):
    assert run_seed(empty_database_url, small_archive).returncode == 0
    result = run_seed(empty_database_url, damage(small_archive, tmp_path / "cut.tar"), "--force")
    assert_one_error(result, expected)
    assert actor_counts(empty_database_url) == (3, 3)
    assert query(empty_database_url, "SELECT count(*) FROM filler") == 20000


@dataclass
class Case:
    """A bad input: the archive to name, and the database URL and PATH to run with (None: the good ones)."""

    archive: Callable[[Path, dict[str, Path]], str]  # (tmp_path, the self-made archives) -> SEED_ARCHIVE
    expected: str
    database_url: str | None = None
    path: Callable[[Path], str] | None = None


def _write(name: str, content: bytes) -> Callable[[Path, dict[str, Path]], str]:
    def archive(tmp_path: Path, _archives: dict[str, Path]) -> str:
        (tmp_path / name).write_bytes(content)
        return str(tmp_path / name)

    return archive


def _zip(members: dict[str, bytes]) -> Callable[[Path, dict[str, Path]], str]:
    return lambda tmp_path, _archives: str(make_zip(tmp_path / "bundle.zip", members))


def _damaged_zip(tmp_path: Path, archives: dict[str, Path]) -> str:
    """A zip whose directory is intact but whose compressed data is overwritten in the middle."""
    bundle = make_zip(tmp_path / "bundle.zip", {"dvdrental.tar": archives["small"]})
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    bundle.write_bytes(data)
    return str(bundle)


def _small(_tmp_path: Path, archives: dict[str, Path]) -> str:
    return str(archives["small"])


BAD_INPUTS = {
    "missing file": Case(lambda tmp, _: str(tmp / "absent.tar"), "archive not found: "),
    "random bytes": Case(
        _write("random.tar", os.urandom(64 * 1024)), "random.tar is corrupt or not a pg_restore archive"
    ),
    "plain SQL": Case(_write("dump.sql", b"CREATE TABLE actor ();\n" * 100), "is corrupt or not a pg_restore archive"),
    "damaged zip": Case(_damaged_zip, "zip archive bundle.zip is corrupt: "),
    "zip without a tar": Case(_zip({"a.txt": b"a", "b.txt": b"b"}), "must hold exactly one .tar archive"),
    "zip with a corrupt tar": Case(
        _zip({"dvdrental.tar": os.urandom(4096)}), "dvdrental.tar is corrupt or not a pg_restore"
    ),
    "not the DVD rental": Case(lambda _tmp, archives: str(archives["other"]), "other.tar has no table public.actor"),
    "plain http URL": Case(lambda _tmp, _: "http://example.com/dvdrental.zip", "archive URL must be https://"),
    "unreachable URL": Case(lambda _tmp, _: f"https://127.0.0.1:{free_port()}/x.zip", "cannot download https://"),
    "unreachable database": Case(
        _small,
        "cannot connect to the database at 127.0.0.1:",
        database_url="postgresql://postgres@127.0.0.1:{closed}/x",
    ),
    "invalid DATABASE_URL": Case(_small, "not a valid PostgreSQL URL", database_url="postgres://x:y@h/d?nope=1"),
    "no pg_restore": Case(_small, "pg_restore not found on PATH: install", path=lambda tmp: str(tmp)),
}


@pytest.fixture(scope="session")
def other_archive(postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid archive of some other database: no actor table."""
    setup = "CREATE TABLE film (film_id integer PRIMARY KEY)"
    return pg_dump(postgres, "seed_other_source", setup, tmp_path_factory.mktemp("other") / "other.tar")


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_gives_one_clear_line(
    case: Case, empty_database_url: str, small_archive: Path, other_archive: Path, tmp_path: Path
):
    archive = case.archive(tmp_path, {"small": small_archive, "other": other_archive})
    url = case.database_url.format(closed=free_port()) if case.database_url else empty_database_url
    env = {"PATH": case.path(tmp_path)} if case.path else {}
    result = run_seed(url, archive, **env)
    assert_one_error(result, case.expected)
    assert public_tables(empty_database_url) == []


@pytest.fixture(scope="session")
def https_server(tmp_path_factory: pytest.TempPathFactory, small_archive: Path) -> Iterator[tuple[str, Path]]:
    """An https server on 127.0.0.1 serving a zip of the small archive, and its self-signed certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate for the local https server")
    root = tmp_path_factory.mktemp("https")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = root / "site"
    site.mkdir()
    make_zip(site / "dvdrental.zip", {"dvdrental.tar": small_archive})

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()


def test_downloads_a_zip_over_https(empty_database_url: str, https_server: tuple[str, Path]):
    base, cert = https_server
    result = run_seed(empty_database_url, f"{base}/dvdrental.zip?token=presigned-secret", SSL_CERT_FILE=str(cert))
    assert result.returncode == 0, result.stderr
    lines = messages(result.stdout)
    assert lines[0].startswith(f"downloading {base}/dvdrental.zip (0.") and lines[0].endswith(" MB)")
    assert lines[1] == "extracting dvdrental.tar from dvdrental.zip"
    assert "presigned-secret" not in result.stdout + result.stderr
    assert actor_counts(empty_database_url) == (3, 3)


@pytest.mark.parametrize(
    ("path", "trust", "expected"),
    [("missing.zip", True, "HTTP 404 File not found"), ("dvdrental.zip", False, "certificate verify failed")],
    ids=["http error", "untrusted certificate"],
)
def test_https_failures_give_one_clear_line(
    empty_database_url: str, https_server: tuple[str, Path], path: str, trust: bool, expected: str
):
    base, cert = https_server
    env = {"SSL_CERT_FILE": str(cert)} if trust else {}
    result = run_seed(empty_database_url, f"{base}/{path}", **env)
    assert_one_error(result, f"cannot download {base}/{path}: ")
    assert expected in result.stderr
    assert public_tables(empty_database_url) == []


DEFAULT_URL = "https://www.postgresqltutorial.com/wp-content/uploads/2019/05/dvdrental.zip"  # docs/app.md's


@pytest.mark.parametrize(("value", "args", "fix"), [
    ("", (), "set SEED_ARCHIVE to the path of a local copy of the archive (the .zip, or the dvdrental.tar in it) to "
             "load without the network"),
    ("https://archive.example.com/dvdrental.zip", (),
     "set SEED_ARCHIVE to an https URL this machine can reach, or to the path of a local copy (.tar or .zip)"),
    ("", ("--archive=https://archive.example.com/dvdrental.zip",),
     "give --archive an https URL this machine can reach, or the path of a local copy (.tar or .zip)"),
], ids=["the default download", "SEED_ARCHIVE's URL", "--archive's URL"])
def test_a_download_without_a_network_names_what_to_set_instead(empty_database_url: str, value, args, fix):
    # Every https connection goes to a proxy where nothing listens: the download fails as it does offline.
    proxy = f"http://127.0.0.1:{free_port()}"
    result = run_seed(empty_database_url, value, *args, https_proxy=proxy, HTTPS_PROXY=proxy, no_proxy="",
                      NO_PROXY="")
    url = args[0].split("=", 1)[1] if args else value or DEFAULT_URL
    assert_one_error(result, "cannot download")
    assert messages(result.stderr) == [f"cannot download {url}: [Errno 111] Connection refused. Fix: {fix}"]
    assert public_tables(empty_database_url) == []


def start_seed(database_url: str, archive: Path) -> subprocess.Popen:
    """The seed in its own process group, as a release container would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "actors.seed"],
        cwd=APP_DIR,
        env=clean_env(DATABASE_URL=database_url, SEED_ARCHIVE=str(archive)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def restore_backends(postgres: EmbeddedPostgres, dbname: str, sql_prefix: str = "") -> int:
    return query(
        postgres.url(),
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_restore' AND datname = %s "
        "AND query LIKE %s",
        [dbname, f"{sql_prefix}%"],
    )


def pg_restore_processes(dbname: str) -> list[Path]:
    """The /proc directories of the pg_restore processes that restore into `dbname`."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # it ended meanwhile
            continue
        if argv[0].endswith(b"pg_restore") and any(f"dbname={dbname}".encode() in arg.split() for arg in argv):
            found.append(proc)
    return found


@pytest.mark.parametrize("how", ["SIGTERM to the seed", "SIGKILL to its process group"])
def test_killed_mid_load_leaves_the_database_as_it_was(
    how: str, postgres: EmbeddedPostgres, empty_database_url: str, slow_archive: Path
):
    dbname = empty_database_url.rsplit("/", 1)[1].split("?")[0]
    seed = start_seed(empty_database_url, slow_archive)
    try:
        wait_for(lambda: restore_backends(postgres, dbname, "COPY") > 0, 30, "pg_restore's COPY")
        if how.startswith("SIGTERM"):
            seed.send_signal(signal.SIGTERM)  # the seed alone: it has to stop pg_restore itself
        else:
            os.killpg(seed.pid, signal.SIGKILL)
        _, stderr = seed.communicate(timeout=30)
    finally:
        if seed.poll() is None:
            os.killpg(seed.pid, signal.SIGKILL)
    if how.startswith("SIGTERM"):
        assert seed.returncode == 128 + signal.SIGTERM
        assert messages(stderr) == ["interrupted by SIGTERM: the load was cancelled and the database is left as it was"]
        assert pg_restore_processes(dbname) == []  # stopped before the seed exits, not left to finish and commit
    else:
        assert seed.returncode == -signal.SIGKILL
    # The server notices the dead client at its next read and rolls back; a surviving pg_restore would commit.
    wait_for(lambda: restore_backends(postgres, dbname) == 0, 30, "the restore's backend to end")
    assert public_tables(empty_database_url) == []
    assert query(empty_database_url, "SELECT to_regprocedure('public.slow_ok(integer)')") is None

    rerun = run_seed(empty_database_url, slow_archive)
    assert rerun.returncode == 0, rerun.stderr
    assert actor_counts(empty_database_url) == (SLOW_ROWS, SLOW_ROWS)


def test_concurrent_seeds_load_once(empty_database_url: str, slow_archive: Path):
    seeds = [start_seed(empty_database_url, slow_archive) for _ in range(2)]
    outputs = [seed.communicate(timeout=60) for seed in seeds]
    assert [seed.returncode for seed in seeds] == [0, 0], outputs
    lasts = sorted(messages(stdout)[-1].split(":")[0] for stdout, _ in outputs)
    assert lasts == ["already loaded", "loaded"]
    assert actor_counts(empty_database_url) == (SLOW_ROWS, SLOW_ROWS)


def test_the_password_is_never_shown(postgres: EmbeddedPostgres, empty_database_url: str, slow_archive: Path):
    password = "pw-Zq81-never-shown"  # the embedded server trusts 127.0.0.1: any password is accepted
    url = empty_database_url.replace("postgres@", f"postgres:{password}@")
    seed = start_seed(url, slow_archive)
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    wait_for(lambda: restore_backends(postgres, dbname) > 0, 30, "pg_restore to connect")
    [pg_restore] = pg_restore_processes(dbname)
    assert password.encode() not in (pg_restore / "cmdline").read_bytes()  # argv is visible to every user in ps
    assert f"PGPASSWORD={password}".encode() in (pg_restore / "environ").read_bytes().split(b"\0")
    outputs = list(seed.communicate(timeout=60))
    assert seed.returncode == 0, outputs
    noop = run_seed(url, slow_archive)
    unreachable = run_seed(url.replace(f":{postgres.port}/", f":{free_port()}/"), slow_archive)
    assert unreachable.returncode == 1
    outputs += [noop.stdout, noop.stderr, unreachable.stdout, unreachable.stderr]
    assert all(password not in output for output in outputs)


def test_only_pg_restore_17s_timeout_setting_is_dropped_for_older_servers():
    """The script pg_restore 17 writes for a server before 17: that one SET goes, a COPY row of the same bytes stays."""
    script = (b"SET statement_timeout = 0;\nSET transaction_timeout = 0;\nSET lock_timeout = 0;\n"
              b"COPY public.note (body) FROM stdin;\nSET transaction_timeout = 0;\n\\.\n"
              b"SELECT 'SET transaction_timeout = 0;';\n")
    sink = io.BytesIO()
    sink.close = lambda: None  # keep what was written readable
    without_timeout_setting(io.BytesIO(script), sink)
    assert sink.getvalue() == (b"SET statement_timeout = 0;\nSET lock_timeout = 0;\n"
                               b"COPY public.note (body) FROM stdin;\nSET transaction_timeout = 0;\n\\.\n"
                               b"SELECT 'SET transaction_timeout = 0;';\n")


@pytest.mark.parametrize(("printed", "major"), [
    ("pg_restore (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)", 17), ("15.13", 15), ("11.3", 11), ("9.6.24", 906),
])
def test_reads_the_major_version_as_postgresql_numbers_it(printed: str, major: int):
    assert major_of(printed) == major
