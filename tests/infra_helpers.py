"""Runs of the Pulumi program under the offline plan's mocks, shared by the tests/test_infra_*.py files."""

from __future__ import annotations

from functools import cache
from typing import Any

from infra import plan as infra_plan

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
SERVICE = "kubernetes:core/v1:Service"
SECRET_TYPE = "kubernetes:core/v1:Secret"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
HOST = "kubernetes:getambassador.io/v3alpha1:Host"
MAPPING = "kubernetes:getambassador.io/v3alpha1:Mapping"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"


@cache
def k8s_plan(*overrides: str) -> infra_plan.Plan:
    """The k8s stack's plan with `KEY=VALUE` overrides (cached: the program is deterministic)."""
    return infra_plan.run("k8s", list(overrides))


def one(plan: infra_plan.Plan, type_: str, name: str | None = None) -> infra_plan.Registration:
    found = plan.find(type_, name)
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def obj(reg: infra_plan.Registration) -> dict[str, Any]:
    """A registration's inputs as plain data, secrets redacted."""
    return infra_plan.reveal(reg.inputs)


def pod_spec(plan: infra_plan.Plan, type_: str) -> dict[str, Any]:
    return obj(one(plan, type_))["spec"]["template"]["spec"]


@cache
def heroku_plan(*overrides: str) -> infra_plan.Plan:
    """The heroku stack's plan with `KEY=VALUE` overrides (cached: the program is deterministic)."""
    return infra_plan.run("heroku", list(overrides))
