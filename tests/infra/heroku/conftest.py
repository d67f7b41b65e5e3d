"""The loopback Heroku stand-in (standin.py) as a fixture; skipped where ../shared/heroku is absent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra.heroku import standin
from tests.support import SHARED  # ../shared, next to the repository

SCHEMA = SHARED / "heroku" / "platform-api-schema.json"


@pytest.fixture
def heroku() -> Iterator[standin.HerokuStandIn]:
    """api.heroku.com and registry.heroku.com for one app; the test fails on any request the schema refuses."""
    if not SCHEMA.is_file():
        pytest.skip(f"needs Heroku's Platform API schema at {SCHEMA} (../shared/heroku, absent outside the "
                    "workplace): the stand-in checks every request against it")
    with standin.serving(SCHEMA) as state:
        yield state
        assert not state.errors, "requests the Platform API schema refuses:\n" + "\n".join(state.errors)
