"""The web app against a real PostgreSQL: pages, API, probes, errors, headers, logs and metrics."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import datetime, timedelta

import httpx
import psycopg
import pytest

from actors import config
from devenv.postgres import create_actor_table
from tests.support import APP_DIR, APP_SERVER, clean_env, metric, serving, wait_for_workers

ACTOR_NAME = re.compile(r'<span class="first">Actor\d+</span> <span class="last">Number\d+</span>')


def test_page_shows_five_random_actors_and_the_server(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert len(ACTOR_NAME.findall(page)) == 5
    assert '<strong id="server">test-host</strong>' in page


def test_page_takes_a_count(client):
    page = client.get("/?count=12").get_data(as_text=True)
    assert len(ACTOR_NAME.findall(page)) == 12


def test_page_escapes_names(running_postgres, make_app):
    url = running_postgres.create_database("hostile_names")
    create_actor_table(url, [("<script>alert(1)</script>", "O'Brien & <b>Sons</b>")])
    page = make_app(DATABASE_URL=url).test_client().get("/").get_data(as_text=True)
    assert "<script>" not in page.lower()
    assert "<b>" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.lower()
    assert "&amp; &lt;b&gt;sons&lt;/b&gt;" in page.lower()


def test_api_returns_distinct_actors_and_the_server(client):
    body = client.get("/api/actors?count=7").get_json()
    assert body["server"] == "test-host"
    assert body["count"] == 7
    ids = [actor["actor_id"] for actor in body["actors"]]
    assert len(set(ids)) == 7
    assert all(1 <= actor_id <= 200 for actor_id in ids)
    assert set(body["actors"][0]) == {"actor_id", "first_name", "last_name"}


def test_api_default_count_is_five(client):
    assert client.get("/api/actors").get_json()["count"] == 5


def test_selection_is_random_across_requests(client):
    seen = {actor["actor_id"] for _ in range(20) for actor in client.get("/api/actors").get_json()["actors"]}
    # 100 draws from 200 actors: a fixed or stuck choice would show far fewer
    assert len(seen) > 40


def test_selection_copes_with_gaps_and_small_tables(running_postgres, make_app):
    url = running_postgres.create_database("sparse_actors")
    create_actor_table(url, [(f"A{n}", f"B{n}") for n in range(1, 1001)])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM actor WHERE actor_id % 97 <> 0")  # 10 actors left, far apart
    client = make_app(DATABASE_URL=url).test_client()
    assert client.get("/api/actors?count=8").get_json()["count"] == 8
    everyone = client.get("/api/actors?count=50").get_json()
    assert sorted(a["actor_id"] for a in everyone["actors"]) == list(range(97, 1001, 97))


def actor_scans(url: str) -> tuple[int, int]:
    """(sequential scans, rows fetched by index scans) of table actor so far, as PostgreSQL counts them."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT coalesce(seq_scan, 0), coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relname = 'actor'"
        ).fetchone()


def test_a_request_reads_a_few_rows_not_the_whole_table(running_postgres, make_app):
    url = running_postgres.create_database("many_actors")
    create_actor_table(url, generated=50_000)
    before = actor_scans(url)
    app = make_app(DATABASE_URL=url)
    for _ in range(10):
        assert app.test_client().get("/api/actors?count=5").status_code == 200
    app.extensions["actors.db"].close()  # a backend reports its table statistics when it ends
    deadline = time.monotonic() + 10
    while (after := actor_scans(url)) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    sequential, fetched = after[0] - before[0], after[1] - before[1]
    # 10 requests of 10 probes reading one row each, plus the ids' bounds from the index's two ends:
    # a sort or scan of the table would read 50,000 rows per request
    assert sequential == 0
    assert 0 < fetched <= 10 * 12


@pytest.mark.parametrize("count", ["0", "51", "-1", "abc", "1.5", "", " 5", "\uff15", "99999999999999999999"])
def test_api_rejects_a_bad_count(client, count):
    response = client.get("/api/actors", query_string={"count": count})
    assert response.status_code == 400
    assert response.get_json()["error"] == "count must be a whole number from 1 to 50"


def test_page_rejects_a_bad_count_with_a_page(client):
    response = client.get("/?count=1000")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "from 1 to 50" in response.get_data(as_text=True)


def test_liveness_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


NO_DATABASE = "postgresql://nobody@127.0.0.1:9/none?sslmode=disable"


def test_without_a_database_liveness_holds_and_the_rest_answers_503(make_app):
    client = make_app(DATABASE_URL=NO_DATABASE, DB_POOL_TIMEOUT="1").test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
    api = client.get("/api/actors")
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "5"
    page = client.get("/")
    assert page.status_code == 503
    assert "The database is not answering right now" in page.get_data(as_text=True)


def test_a_database_known_down_answers_at_once(make_app):
    client = make_app(DATABASE_URL=NO_DATABASE, DB_POOL_TIMEOUT="1").test_client()
    timings = []
    for _ in range(5):
        started = time.monotonic()
        assert client.get("/api/actors").status_code == 503
        timings.append(time.monotonic() - started)
    assert timings[0] >= 0.9, "until the pool gives up reconnecting, a request waits the whole pool timeout"
    assert max(timings[-2:]) < 0.5, "then requests do not queue behind a known outage"


def test_database_outage_answers_503_then_recovers_without_restart(client, postgres):
    assert client.get("/api/actors").status_code == 200
    postgres.stop(mode="immediate")
    try:
        assert client.get("/readyz").status_code == 503
        assert client.get("/").status_code == 503
    finally:
        postgres.start()
    deadline = time.monotonic() + 15
    while client.get("/api/actors").status_code != 200:
        assert time.monotonic() < deadline, "the app did not recover after the database came back"
        time.sleep(0.2)
    assert client.get("/readyz").status_code == 200


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@pytest.mark.parametrize(
    "path", ["/", "/api/actors", "/healthz", "/metrics", "/api/actors?count=0", "/missing", "/static/style.css"]
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert len(response.headers.getlist("Content-Security-Policy")) == 1


@pytest.mark.parametrize("path", ["/", "/api/actors", "/healthz", "/missing"])
def test_fresh_answers_are_never_cached(client, path):
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_static_stylesheet_is_served_and_cacheable(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_request_id_is_honoured_or_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    bad = {"X-Request-ID": "bad id\t<>"}
    replaced = [client.get("/healthz", headers=bad).headers["X-Request-ID"] for _ in range(3)]
    fresh = [client.get("/healthz").headers["X-Request-ID"] for _ in range(3)]
    ids = replaced + fresh
    assert len(set(ids)) == 6, "every request gets an id of its own"
    assert all(re.fullmatch(r"[A-Za-z0-9._-]{8,64}", request_id) for request_id in ids), ids


def test_a_request_id_shows_on_the_error_page(client):
    response = client.get("/api/actors?count=0", headers={"X-Request-ID": "trace-400"})
    assert response.get_json() == {
        "error": "count must be a whole number from 1 to 50", "status": 400, "request_id": "trace-400"
    }


def test_debug_mode_cannot_be_switched_on_and_errors_hide_tracebacks(monkeypatch, make_app, actors_database_url):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = make_app(DATABASE_URL=actors_database_url, FLASK_DEBUG="1")
    assert app.debug is False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "secret internals" not in body


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "0"),
        ("PORT", "http"),
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "many"),
        ("WEB_THREADS", "1000"),
        ("DB_POOL_TIMEOUT", "-3"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_environment_is_named(name, value):
    with pytest.raises(config.ConfigError, match=rf"^{name}="):
        config.from_environ({name: value})


@pytest.mark.parametrize(
    "url",
    ["postgres://u:hunter2@host:notaport/db", "mysql://u:hunter2@host/db", "hunter2", "postgres://u:hunter2@h/d?x=%"],
)
def test_bad_database_url_is_named_without_echoing_it(url):
    with pytest.raises(config.ConfigError, match="DATABASE_URL is not a valid PostgreSQL URL") as caught:
        config.from_environ({"DATABASE_URL": url})
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "sslmode"),
    [
        ("postgres://u:p@db.example.com:5432/d", "require"),
        ("postgres://u:p@db.example.com:5432/d?sslmode=verify-full", "verify-full"),
        ("postgresql://u@localhost/d?sslmode=disable", "disable"),
    ],
)
def test_database_url_requires_tls_unless_it_says_otherwise(url, sslmode):
    assert f"sslmode={sslmode}" in config.from_environ({"DATABASE_URL": url}).conninfo


def test_without_database_url_libpq_reads_the_pg_variables():
    assert config.from_environ({"PGHOST": "db", "PGUSER": "app"}).conninfo == ""


def test_server_name_prefers_the_dyno():
    assert config.from_environ({"DYNO": "web.1", "HOSTNAME": "pod-x"}).server_name == "web.1"
    assert config.from_environ({"HOSTNAME": "pod-x"}).server_name == "pod-x"


def test_the_server_refuses_a_bad_setting_in_one_line():
    result = subprocess.run(APP_SERVER, cwd=APP_DIR, env=clean_env(PORT="99999"), capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "actors: configuration error: PORT='99999' is not valid: set it to a whole number from 1 to 65535, or unset it"
    )


@pytest.mark.parametrize("app", ["actors", "actors:", ":create_app"])
def test_the_server_refuses_an_app_that_is_not_module_and_factory_in_one_line(app):
    # The server makes the app itself in each worker (actors.serve.worker_app), so it checks the form first.
    result = subprocess.run([*APP_SERVER, "--app", app], cwd=APP_DIR, env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"actors: configuration error: --app {app!r} is not MODULE:FACTORY: write it as actors:create_app does"]


@pytest.fixture(scope="module")
def two_workers(actors_database_url):
    with serving(APP_SERVER, clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="2")) as server:
        wait_for_workers(server, 2)
        yield server


def test_one_json_log_line_per_request(two_workers):
    httpx.get(f"{two_workers.url}/api/actors?count=3", headers={"X-Request-ID": "trace-me-42"})
    deadline = time.monotonic() + 5
    while not (lines := [line for line in two_workers.json_lines() if line.get("request_id") == "trace-me-42"]):
        assert time.monotonic() < deadline, two_workers.output
        time.sleep(0.05)
    assert len(lines) == 1
    line = lines[0]
    assert set(line) == {
        "level", "logger", "pid", "message", "method", "path", "status", "duration_ms", "request_id", "time"
    }
    assert {"level": "INFO", "logger": "actors", "message": "request", "method": "GET", "path": "/api/actors",
            "status": 200}.items() <= line.items()
    assert 0 < line["duration_ms"] < 5000
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
    # the server's own lines are JSON too, and nothing prints the connection string
    assert all(text.startswith("{") for text in two_workers.lines if text.strip())
    assert "postgresql://" not in two_workers.output


def test_metrics_count_every_request_across_workers(two_workers):
    def scrape() -> str:
        return httpx.get(f"{two_workers.url}/metrics", headers={"Connection": "close"}).text

    before = metric(scrape(), "http_requests_total", route="/api/actors", status="200")
    for _ in range(30):
        assert httpx.get(f"{two_workers.url}/api/actors", headers={"Connection": "close"}).status_code == 200
    pids = {line["pid"] for line in two_workers.json_lines() if line.get("path") == "/api/actors"}
    assert len(pids) == 2, "both workers should have answered"
    # whichever worker answers the scrape, it reports the sum over both
    for _ in range(6):
        text = scrape()
        assert metric(text, "http_requests_total", route="/api/actors", status="200") == before + 30
        assert metric(text, "http_request_duration_seconds_count", route="/api/actors", status="200") >= 30
        assert metric(text, "db_pool_connections", state="open") >= 1


@pytest.mark.parametrize(
    ("method", "status"), [("GET", 301), ("HEAD", 301), ("POST", 308)]
)
def test_plain_http_behind_a_proxy_is_redirected_to_https(client, method, status):
    response = client.open("/api/actors?count=3", method=method, headers={"X-Forwarded-Proto": "http"})
    assert response.status_code == status
    assert response.headers["Location"] == "https://localhost/api/actors?count=3"
    assert response.headers["Strict-Transport-Security"]


@pytest.mark.parametrize("proto", ["https", None])
def test_https_and_direct_requests_are_served(client, proto):
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    assert client.get("/healthz", headers=headers).status_code == 200


def test_the_https_redirect_can_be_switched_off(make_app, actors_database_url):
    app = make_app(DATABASE_URL=actors_database_url, FORCE_HTTPS="false")
    assert app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "http"}).status_code == 200


def test_force_https_takes_only_a_boolean():
    with pytest.raises(config.ConfigError, match=r"^FORCE_HTTPS='sometimes' is not valid: set it to true or false"):
        config.from_environ({"FORCE_HTTPS": "sometimes"})
