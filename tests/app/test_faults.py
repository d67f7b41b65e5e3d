"""The app under trouble, served by its real server on loopback: every loop here is bounded in count and time.

Outage, graceful shutdown, pool exhaustion and hostile input. (The seed killed mid-load is in test_seed.py.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import psycopg
import pytest

from devenv.servers import Server
from tests.support import APP_SERVER, clean_env, metric, serving, started_workers, wait_for_workers

POOL_TIMEOUT_S = 2


@contextmanager
def actor_table_locked(database_url: str):
    """Hold an exclusive lock on `actor`: every query of the app waits, so its requests stay in flight."""
    with psycopg.connect(database_url) as conn:
        conn.execute("LOCK TABLE actor IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def wait_for_waiters(database_url: str, count: int, timeout: float = 10) -> None:
    """Wait until `count` of the app's queries are blocked on the lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            [[waiting]] = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'actors' AND wait_event_type = 'Lock'"
            ).fetchall()
            if waiting >= count:
                return
            time.sleep(0.05)
    pytest.fail(f"fewer than {count} requests reached the database")


def test_database_outage_under_load(actors_database_url, postgres):
    workers = 2
    env = clean_env(DATABASE_URL=actors_database_url, DB_POOL_TIMEOUT=str(POOL_TIMEOUT_S), WEB_CONCURRENCY=str(workers))
    with serving(APP_SERVER, env) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        wait_for_workers(server, workers)
        outcomes: list[tuple[float, int, float]] = []  # (sent at, status, seconds taken)
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as own:
                for _ in range(2000):
                    if stop.is_set():
                        return
                    sent = time.monotonic()
                    outcomes.append((sent, own.get("/api/actors").status_code, time.monotonic() - sent))

        with ThreadPoolExecutor(4) as pool:
            for _ in range(4):
                pool.submit(load)
            time.sleep(1)
            postgres.stop(mode="immediate")
            down_at = time.monotonic()
            try:
                time.sleep(3)
                assert client.get("/readyz").status_code == 503
            finally:
                postgres.start()
            back_at = time.monotonic()
            time.sleep(2)
            stop.set()
        after_recovery = [client.get("/api/actors").status_code for _ in range(20)]

    statuses = Counter(status for _, status, _ in outcomes)
    assert set(statuses) <= {200, 503}, f"only 200 or 503, never 500: {statuses}"
    assert statuses[503] > 0, "requests during the outage must have been refused"
    during = [taken for sent, status, taken in outcomes if down_at <= sent < back_at]
    assert during and max(during) < POOL_TIMEOUT_S + 1.5, "no request may hang past the pool timeout"
    # within 2 s of the database's return, requests succeed again
    assert [status for sent, status, _ in outcomes if sent >= back_at + 2] == [200] * len(
        [1 for sent, _, _ in outcomes if sent >= back_at + 2]
    )
    assert after_recovery == [200] * 20
    # each worker booted once: none crashed or was replaced
    assert started_workers(server) == workers, f"no worker may crash or be restarted:\n{server.output}"


def answering_pids(server, requests: int = 60) -> set[int]:
    """The worker pids that answered `requests` requests, each on a new connection."""
    for _ in range(requests):
        assert httpx.get(f"{server.url}/healthz", headers={"Connection": "close"}).is_success
    deadline = time.monotonic() + 5
    while len(answered := [line for line in server.json_lines() if line.get("path") == "/healthz"]) < requests:
        assert time.monotonic() < deadline, server.output
        time.sleep(0.05)
    return {line["pid"] for line in answered}


def test_web_concurrency_sets_the_number_of_worker_processes(actors_database_url):
    with serving(APP_SERVER, clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="3")) as server:
        wait_for_workers(server, 3)
        assert len(answering_pids(server)) == 3


def test_a_crashed_worker_is_replaced(actors_database_url):
    with serving(APP_SERVER, clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="2")) as server:
        wait_for_workers(server, 2)
        victim = next(iter(answering_pids(server, 20)))
        os.kill(victim, signal.SIGKILL)
        wait_for_workers(server, 3, timeout=30)
        assert [httpx.get(f"{server.url}/api/actors").status_code for _ in range(20)] == [200] * 20
        assert server.process.poll() is None
        # the dead worker's pool no longer counts: 2 live workers of at most 1 connection each (WEB_THREADS=1)
        time.sleep(1.5)  # each worker publishes its pool's figures once a second
        assert 1 <= metric(httpx.get(f"{server.url}/metrics").text, "db_pool_connections", state="open") <= 2


def sigterm(server: Server) -> None:
    server.process.terminate()  # SIGTERM to the server's main process alone, as Kubernetes sends it to PID 1


def ctrl_c(server: Server) -> None:
    os.killpg(server.process.pid, signal.SIGINT)  # a terminal's Ctrl-C: SIGINT to its whole foreground process group


STOPS = {"SIGTERM to the server (Kubernetes)": sigterm, "Ctrl-C (SIGINT to its process group)": ctrl_c}
# Before `actors.serve.worker_app`, Ctrl-C left a granian worker deaf to both signals in about half of the stops
# (until its kill 20 s later): five stops in a row catch that nearly always.
STOP_TRIALS = 5
STOP_WITHIN_S = 2


def assert_stops_in_time(server: Server, what: str) -> None:
    """`server` (its process) ends well, STOP_WITHIN_S at the most after it was signalled."""
    try:
        code = server.process.wait(STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} still runs {STOP_WITHIN_S} s after the signal, with idle connections open; it printed:\n"
                    f"{server.output[-3000:]}")
    assert code == 0, server.output[-3000:]


def idle_keep_alive_connection(server: Server) -> socket.socket:
    """A connection that has had its answer and stays open, idle, as a browser's or a proxy's pooled one."""
    conn = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5)
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(4096)
    assert head.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in head.lower(), head
    return conn


@pytest.mark.parametrize("stop", STOPS.values(), ids=STOPS.keys())
def test_idle_keep_alive_connections_do_not_hold_up_a_stop(actors_database_url, stop):
    env = clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="2")
    for trial in range(1, STOP_TRIALS + 1):
        with serving(APP_SERVER, env) as server:
            wait_for_workers(server, 2)
            idle = [idle_keep_alive_connection(server) for _ in range(4)]  # on both workers, most likely
            idle.append(socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))))  # no request yet
            time.sleep(0.3)  # the new connection accepted
            stop(server)
            assert_stops_in_time(server, f"stop {trial}: the server")
            for conn in idle:  # closed by the server, not left for the client to notice
                conn.settimeout(5)
                assert conn.recv(1) == b""
                conn.close()


@pytest.mark.parametrize("stop", STOPS.values(), ids=STOPS.keys())
def test_a_stop_lets_in_flight_requests_finish(actors_database_url, stop):
    env = clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="1", WEB_THREADS="3")
    with serving(APP_SERVER, env) as server:
        with ThreadPoolExecutor(3) as pool, actor_table_locked(actors_database_url):
            in_flight = [pool.submit(httpx.get, f"{server.url}/api/actors", timeout=30) for _ in range(3)]
            wait_for_waiters(actors_database_url, 3)
            stop(server)
            time.sleep(1)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{server.url}/healthz", timeout=2)  # no new connections once stopping
            stopping_at = time.monotonic()
        # leaving the lock block released it: the in-flight requests complete
        assert [future.result().status_code for future in in_flight] == [200, 200, 200], server.output
        assert server.process.wait(25) == 0
        assert time.monotonic() - stopping_at < 20, "the server must exit within its graceful timeout"


def test_pool_exhaustion_waits_then_503_then_recovers(actors_database_url):
    env = clean_env(
        DATABASE_URL=actors_database_url,
        WEB_CONCURRENCY="1",
        WEB_THREADS="4",
        DB_POOL_SIZE="1",
        DB_POOL_TIMEOUT=str(POOL_TIMEOUT_S),
    )
    with serving(APP_SERVER, env) as server:
        with ThreadPoolExecutor(4) as pool, actor_table_locked(actors_database_url):
            holder = pool.submit(httpx.get, f"{server.url}/api/actors", timeout=30)
            wait_for_waiters(actors_database_url, 1)  # the pool's only connection is now busy

            def timed_get() -> tuple[int, float]:
                started = time.monotonic()
                return httpx.get(f"{server.url}/api/actors", timeout=30).status_code, time.monotonic() - started

            waiters = [pool.submit(timed_get) for _ in range(3)]
            results = [future.result() for future in waiters]  # while the lock still holds
        assert [status for status, _ in results] == [503, 503, 503]
        assert all(POOL_TIMEOUT_S - 0.2 <= taken < POOL_TIMEOUT_S + 1.5 for _, taken in results)
        assert holder.result().status_code == 200
        assert [httpx.get(f"{server.url}/api/actors").status_code for _ in range(5)] == [200] * 5


def raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def hostile_target(actors_database_url):
    with serving(APP_SERVER, clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="1")) as server:
        yield server


MANY_HEADERS = b"".join(b"X-H%d: v\r\n" % n for n in range(500))


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /api/actors?count=" + b"9" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", id="huge-query"),
        pytest.param(b"GET /api/actors?" + b"a=b&" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", id="many-params"),
        pytest.param(b"GET /\xff\xfe\xfd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", id="raw-non-utf8-path"),
        pytest.param(b"GET /%ff%fe?count=%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", id="escaped-non-utf8"),
        pytest.param(b"GET /api/actors HTTP/1.1\r\nHost: x\r\n" + MANY_HEADERS + b"\r\n", id="many-headers"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", id="huge-header"),
        pytest.param(b"BREW /coffee HTCPCP/1.0\r\n\r\n", id="not-http"),
    ],
)
def test_hostile_input_gets_a_clear_4xx(hostile_target, request_bytes):
    response = raw_request(hostile_target.url, request_bytes)
    status_line = response.split(b"\r\n", 1)[0]
    status = int(status_line.split()[1])
    assert 400 <= status < 500, status_line
    assert b"Traceback" not in response
    assert b"File \"" not in response
    assert hostile_target.process.poll() is None
