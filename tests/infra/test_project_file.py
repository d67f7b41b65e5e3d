"""Pulumi.yaml states the CLI the program needs: resource hooks (infra/k8s/changes.py) run only on an engine of
Pulumi CLI 3.182.0 or newer (pulumi/pulumi CHANGELOG 3.182.0, "Implement ResourceHooks in the engine"); an older
CLI would not run them, and the unsafe changes they stop would go through."""

from __future__ import annotations

import yaml

from offline import plan as offline_plan
from tests.support import REPO


def test_pulumi_yaml_requires_the_cli_whose_engine_runs_resource_hooks():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["requiredPulumiVersion"] == ">=3.182.0"
    assert [r.name for r in offline_plan.run("k8s").resources if r.before_update]  # the program registers hooks
