"""Settings are read once, validated before any resource exists, and bad values fail with one clear message."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from infra import plan as infra_plan
from infra.settings import DEFAULTS, REQUIRED_KEYS, SECRET_KEYS, ConfigError
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("override", "key", "says"),
    [
        ("hostname=Not_A_Host", "paasport:hostname", "RFC 1123"),
        ("hostname=", "paasport:hostname", "is missing"),
        ("replicas=0", "paasport:replicas", "must be >= 1"),
        ("replicas=two", "paasport:replicas", "not a whole number"),
        ("hpa_min_replicas=6", "paasport:hpa_max_replicas", "below hpa_min_replicas"),
        ("image=Ghcr.io/Acme/App:bad tag", "paasport:image", "not an image reference"),
        ("postgres_storage_size=8GB", "paasport:postgres_storage_size", "Kubernetes quantity"),
        ("platform=openshift", "paasport:platform", "not one of k8s, heroku"),
        ("platform=", "paasport:platform", "is missing"),
        ("linkerd_inject=maybe", "paasport:linkerd_inject", "not true or false"),
        ("acme_email=ops", "paasport:acme_email", "e-mail"),
        ("backup_schedule=daily", "paasport:backup_schedule", "a cron schedule"),
        ("backup_keep=0", "paasport:backup_keep", "between 1 and 366"),
        ("backup_storage_size=lots", "paasport:backup_storage_size", "Kubernetes quantity"),
        ("backup_enabled=yes", "paasport:backup_enabled", "not true or false"),
    ],
)
def test_bad_config_fails_with_a_message_naming_key_stack_file_and_fix(override, key, says):
    with pytest.raises(ConfigError) as caught:
        infra_plan.run("k8s", [override])
    message = str(caught.value)
    line = next(line for line in message.splitlines() if key in line)
    assert says in line
    assert "Pulumi.k8s.yaml" in line
    assert f"Fix: in Pulumi.k8s.yaml set `{key}: " in line


def test_the_plan_prints_the_config_error_alone_and_exits_non_zero():
    result = subprocess.run(
        [sys.executable, "-m", "infra.plan", "--stack", "k8s", "--config", "replicas=0"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "paasport:replicas is 0, but must be >= 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_one_program_dispatches_on_the_platform_setting():
    assert {r.type.split(":")[0] for r in infra_plan.run("heroku").resources if r.custom} == {"heroku"}
    assert not [r for r in infra_plan.run("k8s").resources if r.type.startswith("heroku:")]


def test_pulumi_yaml_documents_every_key_with_the_programs_default():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["main"] == "infra/"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    config = project["config"]
    assert set(config) == set(DEFAULTS) | set(REQUIRED_KEYS)
    for key, spec in config.items():
        assert spec.get("description"), key
        if key in REQUIRED_KEYS:
            assert "default" not in spec, key
        else:
            assert spec["default"] == DEFAULTS[key], key
    documented = (REPO / "Pulumi.yaml").read_text()
    assert all(key in documented for key in SECRET_KEYS)


def test_the_k8s_stack_file_chooses_its_platform_by_config():
    stack = yaml.safe_load((REPO / "Pulumi.k8s.yaml").read_text())["config"]
    assert stack["paasport:platform"] == "k8s"
    assert stack["paasport:hpa_enabled"] is True

