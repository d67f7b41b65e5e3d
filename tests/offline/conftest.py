"""Fixtures of the offline checks."""

from __future__ import annotations

import pytest

from tests.support import require_shared_charts


@pytest.fixture(scope="module")
def shared_charts() -> None:
    """The packaged charts the renders use: a module that needs them says `pytestmark = usefixtures(...)`."""
    require_shared_charts()
