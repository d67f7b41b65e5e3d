"""Real servers for the move's tests, set up as the two platforms set them up, and the fixture database.

One server of each kind for this package's tests (stopped after them), started when a test first needs it; a
fresh database per test, dropped after.
- Heroku-like (`heroku15`: Debian's 15; `heroku17`: trixie's 17 in a container): TLS only (a connection without it
  is refused), the app's role owns the database but is no superuser, a `heroku_ext` schema owned by the superuser
  with USAGE and CREATE granted to the role, pg_stat_statements installed there by "the platform", and the
  database's search_path naming heroku_ext (ALTER DATABASE ... SET search_path), as Heroku does.
- Chart-like (`chart15`, `chart17`), as the Bitnami PostgreSQL chart of the k8s stack serves it: the app's user
  owns the app database and is no superuser; TLS offered, not required.
- `bare16`: pgserver's 16, built without contrib and without TLS: a target that lacks the fixture's extensions.
The containers keep their data on a tmpfs of 1 GB, so they checkpoint every 128 MB of WAL.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from devenv.postgres import bin_dir
from tests import containers

pytest.register_assert_rewrite("tests.move.helpers")  # its assertions explain themselves, as a test's do

from tests.move.helpers import AppWriter, build_fixture  # noqa: E402

DEBIAN_15 = Path("/usr/lib/postgresql/15/bin")
_names = (f"move_{n}" for n in itertools.count())


def require_debian_15() -> None:
    """Skip (fail in CI) without Debian's PostgreSQL 15 server and contrib, the older major of these tests."""
    if not ((DEBIAN_15 / "postgres").is_file() and Path("/usr/share/postgresql/15/extension/citext.control").is_file()):
        message = "needs Debian's PostgreSQL 15 with contrib: sudo apt-get install postgresql-15 postgresql-contrib"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Database:
    """A fresh database on `server`, owned by the server's app role; `url` is what the app (and the move) gets."""

    server: Server
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    @property
    def admin_url(self) -> str:
        return self.server.pg.admin_url(self.name)

    def second_role_url(self) -> str:
        """The URL of another role of the app's, granted what it needs to write the app's tables (a second Heroku
        credential, a worker's or a migration user)."""
        role, password = f"{self.server.user}_worker", self.server.password[::-1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if not conn.execute("SELECT FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                                 sql.Literal(password)))
        with self.connect() as conn:
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public, heroku_ext TO {role};"
                                 " GRANT ALL ON ALL TABLES IN SCHEMA public TO {role};"
                                 " GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}").format(
                                     role=sql.Identifier(role)))
        return self.url.replace(f"//{self.server.user}:{self.server.password}@", f"//{role}:{password}@", 1)

    def connect(self, *, admin: bool = False) -> psycopg.Connection:
        """A session of the app's role (or the superuser's), in autocommit, rendering times in UTC."""
        conn = psycopg.connect(self.admin_url if admin else self.url, autocommit=True, connect_timeout=10)
        conn.execute("SET TimeZone = 'UTC'")
        return conn


@dataclass
class Server:
    name: str
    pg: containers.PostgresServer | containers.PostgresInContainer
    heroku: bool
    tls: str  # "required", "offered" or "none"
    user: str
    password: str

    @property
    def host(self) -> str:
        return "127.0.0.1" if isinstance(self.pg, containers.PostgresServer) else self.pg.container_host

    @property
    def major(self) -> int:
        return self.pg.server_version // 10000

    def url(self, dbname: str, *, sslmode: str | None = None, password: str | None = None,
            host: str | None = None) -> str:
        """The app role's URL; Heroku's DATABASE_URL is used with TLS required, the chart's as libpq defaults."""
        mode = sslmode or {"required": "require", "offered": "prefer", "none": "disable"}[self.tls]
        return (f"postgresql://{self.user}:{password or self.password}@{host or self.host}:{self.pg.port}/{dbname}"
                f"?sslmode={mode}")

    def database(self) -> Database:
        """A new empty database as the platform hands one to an app."""
        name = next(_names)
        self.pg.provision(self.user, self.password, name)
        if self.heroku:
            with psycopg.connect(self.pg.admin_url(name), autocommit=True) as conn:
                conn.execute(sql.SQL(
                    "CREATE SCHEMA heroku_ext; GRANT USAGE, CREATE ON SCHEMA heroku_ext TO {role};"
                    " CREATE EXTENSION pg_stat_statements WITH SCHEMA heroku_ext;"
                    " ALTER DATABASE {db} SET search_path = \"$user\", public, heroku_ext").format(
                        role=sql.Identifier(self.user), db=sql.Identifier(name)))
        return Database(self, name)

    def drop(self, database: Database) -> None:
        with psycopg.connect(self.pg.admin_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name)))


def _offer_tls(server: containers.PostgresServer | containers.PostgresInContainer) -> None:
    """A server started TLS-only, made to accept connections with and without TLS (the chart's default)."""
    if isinstance(server, containers.PostgresServer):
        hba = server.datadir / "pg_hba.conf"
        hba.write_text(hba.read_text().replace("hostssl ", "host ").replace("hostnossl all all 0.0.0.0/0 reject\n", ""))
    else:
        containers.podman("exec", server.name, "sed", "-i", "s/^hostssl /host /", "/tmp/data/pg_hba.conf")
    with psycopg.connect(server.admin_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")


@contextlib.contextmanager
def _in_container(tls: bool) -> Iterator[containers.PostgresInContainer]:
    with containers.PostgresInContainer(containers.postgres_image(17), tls=tls) as server:
        with psycopg.connect(server.admin_url(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET max_wal_size = '128MB'")
            conn.execute("ALTER SYSTEM SET min_wal_size = '32MB'")
            conn.execute("SELECT pg_reload_conf()")
        yield server


def _serve(name: str, heroku: bool, pg_context: contextlib.AbstractContextManager) -> Iterator[Server]:
    with pg_context as pg:
        if not heroku and pg.tls:
            _offer_tls(pg)
        tls = "required" if heroku else "offered" if pg.tls else "none"
        # Heroku's credentials are random names; the chart's values name the app's user
        user = f"u{secrets.token_hex(6)}" if heroku else "app"
        yield Server(name, pg, heroku, tls, user, secrets.token_urlsafe(18))


@pytest.fixture(scope="package")
def heroku15() -> Iterator[Server]:
    containers.require_tools()
    require_debian_15()
    yield from _serve("heroku15", True, containers.postgres_on_host(tls=True, binaries=DEBIAN_15))


@pytest.fixture(scope="package")
def chart15() -> Iterator[Server]:
    containers.require_tools()
    require_debian_15()
    yield from _serve("chart15", False, containers.postgres_on_host(tls=True, binaries=DEBIAN_15))


@pytest.fixture(scope="package")
def heroku17() -> Iterator[Server]:
    containers.require_tools()
    yield from _serve("heroku17", True, _in_container(True))


@pytest.fixture(scope="package")
def chart17() -> Iterator[Server]:
    containers.require_tools()
    yield from _serve("chart17", False, _in_container(True))


@pytest.fixture(scope="package")
def bare16() -> Iterator[Server]:
    """pgserver's 16: no contrib, no TLS."""
    containers.require_tools()
    binaries = bin_dir()  # pgserver's, where its wheel installs (Python 3.11 and 3.12)
    if (binaries.parent / "share/postgresql/extension/citext.control").exists():
        pytest.skip(f"needs a PostgreSQL without contrib, as the pgserver wheel's; {binaries} has citext")
    yield from _serve("bare16", False, containers.postgres_on_host(tls=False, binaries=binaries))


@pytest.fixture(scope="package")
def replica15(chart15: Server) -> Iterator[Server]:
    """A hot standby of chart15 (read-only, in recovery), as a platform's follower or replica database is: its
    databases are chart15's, reached by `replica15.url(name)`."""
    primary = chart15.pg
    assert isinstance(primary, containers.PostgresServer)
    hba = primary.datadir / "pg_hba.conf"
    hba.write_text(hba.read_text() + "host replication postgres 127.0.0.1/32 trust\n")
    with psycopg.connect(primary.admin_url(), autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    top = Path(tempfile.mkdtemp(prefix="paasport-move-replica-"))
    standby = containers.PostgresServer(top / "data", binaries=DEBIAN_15, tls=primary.tls)
    try:
        standby._prepare_datadir()
        standby._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D",
                     str(standby.datadir), "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast")
        with standby:
            yield Server("replica15", standby, False, chart15.tls, chart15.user, chart15.password)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def replica_url(replica: Server, database: Database) -> str:
    """`database` (on the replica's primary) as the replica serves it, once it has replayed its creation."""
    url = replica.url(database.name)
    for _ in range(100):
        try:
            psycopg.connect(url, connect_timeout=10).close()
            return url
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise AssertionError(f"the replica never had database {database.name}")


@pytest.fixture
def new_database() -> Iterator[Callable[[Server], Database]]:
    """Fresh databases on any of the servers, dropped after the test."""
    made: list[Database] = []

    def new(server: Server) -> Database:
        made.append(server.database())
        return made[-1]

    yield new
    for database in made:
        with contextlib.suppress(psycopg.Error):
            database.server.drop(database)


@pytest.fixture
def fixture_database(new_database: Callable[[Server], Database]) -> Callable[[Server], Database]:
    """A new database on a server, holding the fixture (`helpers.build_fixture`)."""

    def make(server: Server) -> Database:
        database = new_database(server)
        build_fixture(database.url)
        return database

    return make


@pytest.fixture
def app_writer() -> Iterator[Callable[..., AppWriter]]:
    """The app writing to a database during a move (as its own role, or `second_role`); stopped after the test
    whatever happens."""
    writers: list[AppWriter] = []

    def start(database: Database, *, second_role: bool = False) -> AppWriter:
        writers.append(AppWriter(database.second_role_url(), seed=24) if second_role else AppWriter(database.url))
        writers[-1].start()
        writers[-1].wait_for(acknowledged=20)
        return writers[-1]

    yield start
    for writer in writers:
        writer.stop()


# Both directions, across the two majors the harness runs: Debian's 15 and trixie's 17.
DIRECTIONS = [("heroku15", "chart17"), ("chart15", "heroku17")]


@pytest.fixture(params=DIRECTIONS, ids=[f"{a}-to-{b}" for a, b in DIRECTIONS])
def direction(request: pytest.FixtureRequest) -> tuple[Server, Server]:
    """(source, target): a Heroku-like 15 to a chart-like 17, and a chart-like 15 to a Heroku-like 17."""
    source, target = request.param
    return request.getfixturevalue(source), request.getfixturevalue(target)
