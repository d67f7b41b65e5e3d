"""Stacks as move endpoints (written next)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from move.db import MoveError


@contextlib.contextmanager
def resolve(name: str, label: str) -> Iterator:
    raise MoveError(f"{label} {name}: not a postgres:// URL")
    yield
