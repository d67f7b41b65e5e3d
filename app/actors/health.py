"""Probes: liveness never touches the database, readiness needs it within a short timeout."""

from __future__ import annotations

from flask import Blueprint

from actors import db

bp = Blueprint("health", __name__)
READINESS_TIMEOUT_S = 2.0


@bp.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> dict:
    db.ping(timeout=READINESS_TIMEOUT_S)  # DatabaseUnavailable becomes a 503
    return {"status": "ready"}
