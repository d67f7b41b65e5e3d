"""Prometheus metrics: requests and latency by route and status, and the DB pool's connections.

Under gunicorn each worker is its own process, so the metrics live in prometheus_client's
multiprocess mode (files in PROMETHEUS_MULTIPROC_DIR, set up by gunicorn.conf.py) and every
scrape sums all workers, whichever worker answers it.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from actors import db

bp = Blueprint("metrics", __name__)

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


def _record_pool() -> None:
    stats = db.get().pool.get_stats()
    POOL_CONNECTIONS.labels("open").set(stats.get("pool_size", 0))
    POOL_CONNECTIONS.labels("idle").set(stats.get("pool_available", 0))
    POOL_CONNECTIONS.labels("waiting").set(stats.get("requests_waiting", 0))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response: Response) -> Response:
        # the rule, not the path, so that unknown URLs cannot explode the label set
        route = request.url_rule.rule if request.url_rule else "unmatched"
        status = str(response.status_code)
        REQUESTS.labels(route, request.method, status).inc()
        LATENCY.labels(route, status).observe(time.perf_counter() - g.get("metrics_started", time.perf_counter()))
        _record_pool()
        return response


@bp.get("/metrics")
def scrape() -> Response:
    _record_pool()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
