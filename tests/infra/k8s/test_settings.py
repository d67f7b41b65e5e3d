"""Bad k8s settings fail before any resource exists, with one message naming the key, the stack file and the fix."""

from __future__ import annotations

import pytest

from infra.settings import ConfigError
from offline import plan as offline_plan


@pytest.mark.parametrize(
    ("override", "key", "says"),
    [
        ("hostname=Not_A_Host", "paasport:hostname", "RFC 1123"),
        ("hostname=", "paasport:hostname", "is missing"),
        ("replicas=0", "paasport:replicas", "must be between 1 and 1000"),
        ("replicas=two", "paasport:replicas", "not a whole number"),
        ("hpa_min_replicas=6", "paasport:hpa_max_replicas", "below hpa_min_replicas"),
        ("image=Ghcr.io/Acme/App:bad tag", "paasport:image", "not an image reference"),
        ("postgres_storage_size=8GB", "paasport:postgres_storage_size", "Kubernetes quantity"),
        ("linkerd_inject=maybe", "paasport:linkerd_inject", "not true or false"),
        ("acme_email=ops", "paasport:acme_email", "e-mail"),
        ("backup_schedule=daily", "paasport:backup_schedule", "a cron schedule"),
        ("backup_keep=0", "paasport:backup_keep", "between 1 and 366"),
        ("backup_storage_size=lots", "paasport:backup_storage_size", "Kubernetes quantity"),
        ("backup_enabled=yes", "paasport:backup_enabled", "not true or false"),
        ("release_timeout_s=30", "paasport:release_timeout_s", "between 60 and 86400"),
    ],
)
def test_bad_config_fails_with_a_message_naming_key_stack_file_and_fix(override, key, says):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", [override])
    line = next(line for line in str(caught.value).splitlines() if key in line)
    assert says in line
    assert f"Fix: in Pulumi.k8s.yaml set `{key}: " in line
