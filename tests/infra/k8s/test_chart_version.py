"""The PostgreSQL chart stays pinned: an empty `postgres_chart_version` would make helm install the latest chart,
so it is refused like a malformed one."""

from __future__ import annotations

import pytest

from infra.settings import ConfigError
from offline import plan as offline_plan


@pytest.mark.parametrize(("value", "says"), [
    ("", "paasport:postgres_chart_version is empty, which is not a chart version like 16.7.27. Fix: "),
    (" ", "paasport:postgres_chart_version is empty, which is not a chart version like 16.7.27. Fix: "),
    ("latest", "paasport:postgres_chart_version is 'latest', which is not a chart version like 16.7.27. Fix: "),
])
def test_an_empty_or_malformed_chart_version_is_refused(value, says):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", [f"postgres_chart_version={value}"])
    assert says in str(caught.value)
