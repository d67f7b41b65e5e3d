"""Prometheus metrics: requests and latency by route and status, and the DB pool's connections.

The server runs several worker processes, so the metrics live in prometheus_client's multiprocess
mode (files in PROMETHEUS_MULTIPROC_DIR, set up by `actors.serve`) and every scrape sums all
workers, whichever worker answers it
(https://prometheus.github.io/client_python/multiprocess/).
A request costs two shared-memory updates (its counter and its histogram); the pool gauges are not
touched by requests: each worker publishes its pool's figures once a second from a background
thread, and the worker that answers a scrape publishes its own right then.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from psycopg_pool import ConnectionPool

from actors import db

bp = Blueprint("metrics", __name__)
POOL_PUBLISH_INTERVAL_S = 1.0

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
POOL_CONNECTIONS = Gauge(
    "db_pool_connections",
    "Database pool connections, summed over live workers (state: open, idle, waiting requests)",
    ["state"],
    multiprocess_mode="livesum",
)
# (route, method, status) -> (counter, histogram): `labels()` takes a lock and builds a key each time.
_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe(route: str, method: str, status: int, seconds: float) -> None:
    """Count one request to `route` answered with `status` after `seconds`."""
    children = _children.get((route, method, status))
    if children is None:
        children = _children[(route, method, status)] = (
            REQUESTS.labels(route, method, str(status)),
            LATENCY.labels(route, str(status)),
        )
    children[0].inc()
    children[1].observe(seconds)


def publish_pool(pool: ConnectionPool) -> None:
    stats = pool.get_stats()
    POOL_CONNECTIONS.labels("open").set(stats.get("pool_size", 0))
    POOL_CONNECTIONS.labels("idle").set(stats.get("pool_available", 0))
    POOL_CONNECTIONS.labels("waiting").set(stats.get("requests_waiting", 0))


def watch_pool(pool: ConnectionPool) -> None:
    """Publish `pool`'s figures every POOL_PUBLISH_INTERVAL_S from a daemon thread, until the pool closes."""

    def publish() -> None:
        while not pool.closed:
            publish_pool(pool)
            time.sleep(POOL_PUBLISH_INTERVAL_S)

    threading.Thread(target=publish, name="pool-metrics", daemon=True).start()


def _forget_dead_workers(directory: str) -> None:
    """Drop the live gauges of workers that are gone (a crashed worker that the server replaced)."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, directory)
        except PermissionError:  # alive, under another user
            pass


@bp.get("/metrics")
def scrape() -> Response:
    publish_pool(db.get().pool)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        _forget_dead_workers(directory)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
