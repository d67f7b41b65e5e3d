"""Generated app environments: each one starts and serves, or is refused at start with one line naming the variable.

Every variable the app and its server read (app/actors/config.py, serve.py; libpq's PG* through config) gets valid
and invalid values: empty, blank, unicode, very long, negative, zero, huge, malformed DATABASE_URLs (both schemes,
missing parts, bad ports, query parameters, percent-encoding, IPv6 and socket hosts), and the variables of servers
that do not serve this app (GUNICORN_CMD_ARGS, GRANIAN_*). `config.from_environ` is the judge; a sample of what it
accepts is served for real (/ and /readyz must answer 200), and a sample of what it refuses must stop
`python -m actors.serve` with status 2 and one stderr line. Also: the stack's log_level rule (infra/settings.py)
accepts exactly what the app's LOG_LEVEL rule accepts. (SEED_ARCHIVE is one of the app's own variables, set through
the stack's config_vars and checked by the app's release, not by the stack.)
"""

from __future__ import annotations

import re
import socket
import subprocess
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from actors import config
from infra import settings as infra_settings
from tests.support import APP_DIR, APP_SERVER, clean_env, serving

PASSWORD = "pw-S3cr3t-x"  # in every generated DATABASE_URL that has a password: it must never reach a message
FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

ODD_TEXT = st.sampled_from([
    "", " ", "  \t", "\u00a0", "ünïcødé", "名前", "🚀", "line\nbreak", "tab\there", "x" * 5000, "null", "None",
    "${HOME}", "$(id)", "'quoted'", "\udcff", "\u0131nfo", "\u017f",
])
NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=70000).map(str),
    st.sampled_from(["", " 3 ", "+2", "-0", "0", "1e3", "2.5", "0x10", "1_0", "٣", "²", "99999999999999999999",
                     "9" * 5000, "two", "\uff15"]),
    ODD_TEXT,
)
LEVELS = st.one_of(
    st.sampled_from(["debug", "INFO", "Warning", "error", " info ", "trace", "CRITICAL", "warn", "\u0131nfo",
                     "debug\n", "INFO\x00"]),
    ODD_TEXT, st.text(max_size=8),
)
FLAGS = st.one_of(st.sampled_from(["true", "FALSE", "yes", "Off", "1", "0", "maybe", " on "]), ODD_TEXT)

HOSTS = st.sampled_from([
    "db.example.com", "127.0.0.1", "[::1]", "[fe80::1%25eth0]", "%2Fvar%2Frun%2Fpostgresql", "localhost",
    "h1:5432,h2:5433", "h1,h2", "", "b\u00fccher.example", "ho st", "-bad-", "under_score.internal", "a" * 300,
    "%2Ftmp,db", "xn--bcher-kva.example",
])
PORTS = st.sampled_from(["", ":5432", ":1", ":65535", ":0", ":65536", ":99999", ":-1", ":abc", ":٥٤٣٢", ":", ":5432,"])
QUERIES = st.lists(
    st.sampled_from([
        "sslmode=disable", "sslmode=require", "sslmode=verify-full", "sslmode=bogus", "sslmode=REQUIRE",
        "connect_timeout=10", "connect_timeout=abc", "application_name=x", "options=-c%20search_path%3Dx",
        "target_session_attrs=read-write", "target_session_attrs=bogus", "gssencmode=disable", "gssencmode=nope",
        "channel_binding=require", "keepalives_idle=30", "keepalives_idle=-1", "keepalives=2",
        "sslrootcert=system", "sslrootcert=/nonexistent/root.crt", "nope=1", "replication=true", "service=prod",
        "port=5433", "port=abc", "host=%2Ftmp", "hostaddr=127.0.0.1", "hostaddr=not-an-ip", "sslmode",
        "load_balance_hosts=random", "ssl_min_protocol_version=TLSv1.3", "ssl_min_protocol_version=SSLv3",
        "x=%", "client_encoding=UTF8",
    ]),
    max_size=3,
)


@st.composite
def database_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["postgres://", "postgresql://", "postgres:/", "mysql://", "POSTGRES://", ""]))
    user = draw(st.sampled_from(["", "u", "user%40corp", "us%20er", "ü"]))
    password = draw(st.sampled_from(["", PASSWORD, quote(PASSWORD + "/?@:", safe="")]))
    userinfo = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port = draw(HOSTS), draw(PORTS)
    path = draw(st.sampled_from(["/d", "/", "", "/db%2Fx", "/dvd rental", "/d/extra"]))
    query = draw(QUERIES)
    return f"{scheme}{userinfo}{host}{port}{path}" + (f"?{'&'.join(query)}" if query else "")


PG_VARIABLES = {
    "PGHOST": st.sampled_from(["db", "127.0.0.1", "/tmp", "b\u00fccher", "a,b", "", "ho st"]),
    "PGPORT": NUMBERS,
    "PGSSLMODE": st.sampled_from(["disable", "require", "verify-full", "bogus", "", "Require"]),
    "PGDATABASE": st.one_of(st.sampled_from(["dvdrental", "x"]), ODD_TEXT),
    "PGUSER": st.one_of(st.sampled_from(["postgres", "app"]), ODD_TEXT),
    "PGCONNECT_TIMEOUT": st.sampled_from(["10", "abc"]),
    "PGOPTIONS": st.sampled_from(["-c search_path=x", ""]),
    "PGTARGETSESSIONATTRS": st.sampled_from(["any", "read-write", "bogus"]),
}
VARIABLES = {
    "PORT": NUMBERS,
    "WEB_CONCURRENCY": NUMBERS,
    "WEB_THREADS": NUMBERS,
    "DB_POOL_SIZE": NUMBERS,
    "DB_POOL_TIMEOUT": NUMBERS,
    "DB_STATEMENT_TIMEOUT_MS": NUMBERS,
    "LOG_LEVEL": LEVELS,
    "FORCE_HTTPS": FLAGS,
    "DYNO": st.one_of(st.sampled_from(["web.1"]), ODD_TEXT),
    "HOSTNAME": st.one_of(st.sampled_from(["pod-x"]), ODD_TEXT),
    "DATABASE_URL": st.one_of(database_urls(), ODD_TEXT),
    "PROMETHEUS_MULTIPROC_DIR": st.sampled_from(["", "/tmp/actors-metrics-test", "relative/metrics", "/etc/hostname/x",
                                                 "/tmp/" + "m" * 300, "/tmp/ünï"]),
    **PG_VARIABLES,
}
SERVER_VARIABLES = {
    "GUNICORN_CMD_ARGS": st.sampled_from(["", "--workers 4", "--bind 0.0.0.0:8000 --timeout 60", " "]),
    "GRANIAN_WORKERS": st.sampled_from(["", "4"]),
    "GRANIAN_BLOCKING_THREADS": st.sampled_from(["", "2"]),
    "GRANIAN_HTTP": st.sampled_from(["", "1"]),
}
ONE_VARIABLE = st.sampled_from(sorted({**VARIABLES, **SERVER_VARIABLES}.items())).flatmap(
    lambda item: item[1].map(lambda value: {item[0]: value}))
ENVIRONMENTS = st.one_of(
    ONE_VARIABLE,
    st.fixed_dictionaries({}, optional=VARIABLES),
    st.fixed_dictionaries({"DATABASE_URL": database_urls()}),
    st.fixed_dictionaries({}, optional={**VARIABLES, **SERVER_VARIABLES}),
)
# the first word of a message is the variable it names ("PORT='0' is not valid...", "DATABASE_URL is not...")
NAMED = re.compile(r"^([A-Z][A-Z0-9_]*)[=: ]")

INTEGERS = {"PORT": (1, 65535), "WEB_CONCURRENCY": (1, 64), "WEB_THREADS": (1, 32), "DB_POOL_SIZE": (1, 100),
            "DB_POOL_TIMEOUT": (1, 25), "DB_STATEMENT_TIMEOUT_MS": (100, 25000)}


def integer_ok(raw: str, low: int, high: int) -> bool:
    """The rule the README states: blank is the default, else an (ASCII) whole number in range."""
    raw = raw.strip()
    return not raw or (re.fullmatch(r"[+-]?[0-9]{1,30}", raw) is not None and low <= int(raw) <= high)


def judge(env: dict[str, str]) -> config.Config | str:
    """The settings `env` gives, or the one-line message that refuses it (checked to name a variable it sets)."""
    try:
        return config.from_environ(env)
    except config.ConfigError as error:
        message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message
    assert PASSWORD not in message and quote(PASSWORD, safe="") not in message, message
    named = NAMED.match(message)
    assert named and named[1] in env, f"the message must begin with a variable of the environment: {message!r}"
    assert len(message) < 600, message
    return message


@settings(FAST, max_examples=1200)
@given(env=ENVIRONMENTS)
@example(env={"DATABASE_URL": f"postgres://u:{PASSWORD}@h:0/d"})  # was accepted: every connection failed
@example(env={"DATABASE_URL": f"postgres://u:{PASSWORD}@h:99999/d"})  # was accepted
@example(env={"DATABASE_URL": "postgres://u@h:\u0665\u0664\u0663\u0662/d"})  # Arabic-Indic digits: was accepted
@example(env={"DATABASE_URL": "postgres://u@h/d?sslmode=bogus"})  # was accepted: libpq refuses it only on connect
@example(env={"DATABASE_URL": "postgres://u@h/d?target_session_attrs=x&keepalives_idle=-1"})  # was accepted
@example(env={"DATABASE_URL": "postgres://u@h/d?options=-c%20search_path%3Dx"})  # was silently replaced by the app's
@example(env={"DATABASE_URL": "postgres://u@b\u00fccher.example/d"})  # a non-ASCII host: was accepted
@example(env={"DATABASE_URL": "postgres://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent/root.crt"})
@example(env={"PGPORT": "abc"})  # libpq's own variables: were never checked
@example(env={"PGSSLMODE": "bogus"})
@example(env={"GUNICORN_CMD_ARGS": "--workers 4"})  # was ignored without a word
@example(env={"GRANIAN_WORKERS": "4"})  # was ignored without a word
@example(env={"LOG_LEVEL": "\u0131nfo"})  # dotless i: Python upper-cases it to INFO; was accepted
@example(env={"PROMETHEUS_MULTIPROC_DIR": "/etc/hostname/x"})  # was accepted, then a traceback at start
@example(env={"PORT": "9" * 5000})  # the message quoted all 5000 characters
def test_every_environment_is_accepted_or_refused_in_one_line_naming_the_variable(env):
    outcome = judge(env)
    event("accepted" if isinstance(outcome, config.Config) else f"refused: {outcome.split()[0].split('=')[0]}")
    refused_ints = {name for name, (low, high) in INTEGERS.items() if name in env and not integer_ok(env[name], low,
                                                                                                      high)}
    if isinstance(outcome, str):
        return
    assert not refused_ints, f"{refused_ints} must be refused"
    assert not env.get("GUNICORN_CMD_ARGS", "").strip()
    assert not any(name.startswith("GRANIAN_") and value.strip() for name, value in env.items())
    assert outcome.log_level in config.LOG_LEVELS
    assert 1 <= outcome.pool_size <= 100 and outcome.pool_timeout >= 1 and outcome.statement_timeout_ms >= 100
    for name, (low, high) in INTEGERS.items():
        if env.get(name, "").strip():
            assert int(env[name]) in range(low, high + 1)
    if outcome.conninfo:
        params = config.conninfo_to_dict(outcome.conninfo)
        assert set(params) & {"options", "application_name", "connect_timeout", "replication", "service"} == set()
        for port in str(params.get("port", "")).split(","):
            assert not port or 1 <= int(port) <= 65535


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GUNICORN_CMD_ARGS": "--workers=4 --threads=8"}, "WEB_CONCURRENCY (worker processes), WEB_THREADS"),
        ({"GRANIAN_WORKERS": "4"}, "use WEB_CONCURRENCY instead"),
        ({"GRANIAN_BLOCKING_THREADS": "8"}, "use WEB_THREADS instead"),
        ({"GRANIAN_HTTP": "2"}, "the settings are WEB_CONCURRENCY"),
    ],
)
def test_other_servers_variables_are_refused_naming_what_to_use_instead(env, named):
    message = judge(env)
    assert isinstance(message, str) and message.startswith(next(iter(env))) and named in message


def test_pgsslmode_is_not_overridden_by_the_default_of_require():
    """PGSSLMODE=disable with a DATABASE_URL that names no sslmode used to get sslmode=require regardless."""
    conninfo = config.from_environ({"DATABASE_URL": "postgres://u@h/d", "PGSSLMODE": "disable"}).conninfo
    assert "sslmode" not in conninfo
    assert "sslmode=require" in config.from_environ({"DATABASE_URL": "postgres://u@h/d"}).conninfo


@pytest.mark.parametrize("variable", ["PGOPTIONS", "PGAPPNAME", "PGCONNECT_TIMEOUT"])
def test_pg_variables_the_app_overrides_are_refused(variable):
    message = judge({variable: "5"})
    assert isinstance(message, str) and message.startswith(f"{variable}=") and "set by the app itself" in message


# --- the real server: what is accepted serves, what is refused stops it in one line ------------------------------


def url_forms(url: str) -> dict[str, str]:
    """Other ways to name the database of `url` (postgresql://postgres@127.0.0.1:PORT/DBNAME?sslmode=disable)."""
    rest = url.removeprefix("postgresql://")
    port, dbname = re.search(r":(\d+)/([^?]+)", rest).groups()
    return {
        "as given": url,
        "postgres scheme": "postgres://" + rest,
        "percent-encoded user, any password": url.replace("postgres@", f"%70ostgres:{quote(PASSWORD + '@/', '')}@"),
        "hostaddr parameter": f"postgres://postgres@localhost:{port}/{dbname}?sslmode=disable&hostaddr=127.0.0.1",
        "two hosts": f"postgresql://postgres@127.0.0.1:{port},127.0.0.1:{port}/{dbname}?sslmode=prefer"
                     "&target_session_attrs=any&keepalives_idle=30",
        "PG variables": f"PGHOST=127.0.0.1 PGPORT={port} PGDATABASE={dbname} PGUSER=postgres PGSSLMODE=disable",
    }


SETTINGS_THAT_SERVE = st.fixed_dictionaries({}, optional={
    "WEB_CONCURRENCY": st.sampled_from(["1", "2", " 1 ", "+1"]),
    "WEB_THREADS": st.sampled_from(["1", "32", ""]),
    "DB_POOL_SIZE": st.sampled_from(["1", "100"]),
    "DB_POOL_TIMEOUT": st.sampled_from(["1", "25"]),
    "DB_STATEMENT_TIMEOUT_MS": st.sampled_from(["100", "25000"]),
    "LOG_LEVEL": st.sampled_from(["debug", "ERROR", " warning ", ""]),
    "FORCE_HTTPS": st.sampled_from(["false", "TRUE"]),
    "DYNO": st.sampled_from(["web.1", "名前 🚀", "x" * 2000]),
    "GUNICORN_CMD_ARGS": st.just(""),
    "PROMETHEUS_MULTIPROC_DIR": st.just(""),
})


EXTREMES = {  # for each form, valid settings at their limits
    "as given": {"WEB_CONCURRENCY": "1", "WEB_THREADS": "32", "DB_POOL_SIZE": "1", "DB_POOL_TIMEOUT": "1",
                 "DB_STATEMENT_TIMEOUT_MS": "100"},
    "postgres scheme": {"LOG_LEVEL": " warning ", "FORCE_HTTPS": "false", "DYNO": "名前 🚀"},
    "percent-encoded user, any password": {"WEB_THREADS": "1", "DB_POOL_SIZE": "100", "LOG_LEVEL": "debug"},
    "hostaddr parameter": {"WEB_CONCURRENCY": "+1", "DYNO": "x" * 2000, "GUNICORN_CMD_ARGS": "", "GRANIAN_PORT": ""},
    "two hosts": {"DB_STATEMENT_TIMEOUT_MS": "25000", "DB_POOL_TIMEOUT": "25", "LOG_LEVEL": "ERROR"},
    "PG variables": {"WEB_CONCURRENCY": " 2 ", "PROMETHEUS_MULTIPROC_DIR": "{tmp}/not/yet/made"},
}


def environment(database_url: str, form: str, extra: dict[str, str]) -> dict[str, str]:
    target = url_forms(database_url)[form]
    database = dict(pair.split("=", 1) for pair in target.split()) if form == "PG variables" else {
        "DATABASE_URL": target}
    return {**database, **extra}


def assert_serves(env: dict[str, str]) -> None:
    assert isinstance(judge({**env, "PORT": "8000"}), config.Config)
    with serving(APP_SERVER, clean_env(**env)) as server:
        for path in ("/", "/readyz", "/api/actors"):
            response = httpx.get(f"{server.url}{path}", timeout=10)
            assert response.status_code == 200, f"{env}: {path} answered {response.status_code}\n{server.output}"


@pytest.mark.parametrize("form", list(EXTREMES))
def test_each_database_url_form_serves_with_settings_at_their_limits(actors_database_url, form, tmp_path):
    extra = {name: value.replace("{tmp}", str(tmp_path)) for name, value in EXTREMES[form].items()}
    assert_serves(environment(actors_database_url, form, extra))


@settings(max_examples=4, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(list(EXTREMES)), extra=SETTINGS_THAT_SERVE)
def test_an_accepted_environment_serves(actors_database_url, form, extra):
    assert_serves(environment(actors_database_url, form, extra))


REFUSED = st.sampled_from([
    {"DATABASE_URL": f"postgres://u:{PASSWORD}@127.0.0.1:0/d"}, {"DATABASE_URL": "postgres://u@h/d?sslmode=bogus"},
    {"DATABASE_URL": "mysql://u@h/d"}, {"DATABASE_URL": f"postgresql://u:{PASSWORD}@h/d?options=-c%20x"},
    {"DATABASE_URL": f"postgres://u:{PASSWORD}@b\u00fccher/d"}, {"PORT": "0"}, {"WEB_CONCURRENCY": "0"},
    {"WEB_THREADS": "-1"}, {"DB_POOL_SIZE": "0"}, {"DB_POOL_TIMEOUT": "0"}, {"DB_STATEMENT_TIMEOUT_MS": "0"},
    {"PORT": "9" * 400}, {"GUNICORN_CMD_ARGS": "--workers 4"}, {"GRANIAN_WORKERS": "3"}, {"LOG_LEVEL": "verbose"},
    {"PGSSLMODE": "bogus"}, {"PROMETHEUS_MULTIPROC_DIR": "/etc/hostname/metrics"}, {"FORCE_HTTPS": "maybe"},
])


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(env=REFUSED)
def test_a_refused_environment_stops_the_server_in_one_line(env):
    message = judge(env)
    assert isinstance(message, str)
    result = subprocess.run(APP_SERVER, cwd=APP_DIR, env=clean_env(**env), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"actors: configuration error: {message}"]
    assert PASSWORD not in result.stderr + result.stdout


# --- one rule for the stack's log_level and the app's LOG_LEVEL -------------------------------------------------


class FakeConfig:
    """What infra.settings.Reader uses of pulumi.Config: one key's raw value."""

    name = "paasport"

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def full_key(self, key: str) -> str:
        return f"{self.name}:{key}"


def stack_accepts(key: str, value: str) -> tuple[bool, object]:
    reader = infra_settings.Reader(FakeConfig({key: value}), "test")
    read = infra_settings.read_log_level(reader)
    return not reader.problems, read


@FAST
@given(value=st.one_of(LEVELS, st.sampled_from(["DEBUG", "info", "Error", "wArNiNg", " error\t"])))
@example(value="INFO")  # the stack refused the spelling the README gives for LOG_LEVEL
@example(value="")  # the stack refused what the app reads as INFO
@example(value="\u0131nfo")  # the app accepted it (Python upper-cases a dotless i to I); the stack did not
def test_the_stack_and_the_app_accept_the_same_log_level(value):
    accepted, read = stack_accepts("log_level", value)
    level = config.log_level(value)
    assert accepted == (level is not None), value
    if accepted:
        assert read == level.lower()  # what the stack hands the app means the same level
        assert config.log_level(read) == level


def test_a_port_in_use_stops_the_server_in_one_line():
    """granian would bind it in Rust and print a long traceback; the server checks it first."""
    with socket.create_server(("0.0.0.0", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(APP_SERVER, cwd=APP_DIR, env=clean_env(PORT=str(port)), capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"actors: configuration error: PORT={port} cannot be used (Address already in use): set PORT to a free port"]


def test_a_metrics_directory_that_cannot_be_made_stops_the_server_in_one_line():
    """/proc passes a permission check for root, then refuses the mkdir: one line, not a traceback."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    env = clean_env(PORT=str(port), PROMETHEUS_MULTIPROC_DIR="/proc/paasport-metrics")
    result = subprocess.run(APP_SERVER, cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("actors: configuration error: PROMETHEUS_MULTIPROC_DIR ")
