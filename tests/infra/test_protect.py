"""What holds data is protected: Pulumi refuses to delete or replace it while `paasport:protect` is true (the
default), so a setting that would replace it stops `pulumi up` instead of losing the data."""

from __future__ import annotations

import pytest

from offline import types as t
from tests.support import heroku_plan, k8s_plan

# (type, name) of every resource that holds data or the credentials to it, per stack shape.
K8S_STATEFUL = {(t.NAMESPACE, "paasport"), (t.HELM_RELEASE, "paasport-postgresql"),
                (t.RANDOM_PASSWORD, "paasport-password"), (t.RANDOM_PASSWORD, "paasport-postgres-password"),
                (t.SECRET, "paasport-db"), (t.PVC, "paasport-backup")}
HEROKU_STATEFUL = {(t.HEROKU_APP, "paasport"), (t.HEROKU_ADDON, "paasport-postgres")}
STACKS = {
    "k8s": (k8s_plan, (), K8S_STATEFUL),
    "k8s, rendered": (k8s_plan, ("render_dir=/srv/gitops/paasport",),  # the chart templated client-side
                      K8S_STATEFUL ^ {(t.HELM_RELEASE, "paasport-postgresql"), (t.HELM_CHART, "paasport-postgresql")}),
    "heroku, build": (heroku_plan, (), HEROKU_STATEFUL),
    "heroku, registry": (heroku_plan, ("deploy=registry",), HEROKU_STATEFUL),
}


@pytest.mark.parametrize("which", STACKS)
def test_every_stateful_resource_is_protected_by_default_and_nothing_else(which):
    plan, overrides, stateful = STACKS[which]
    protected = {(r.type, r.name) for r in plan(*overrides).resources
                 if r.protect and not r.type.startswith("paasport:")}  # the program's components pass it down
    assert protected == stateful


@pytest.mark.parametrize("which", STACKS)
def test_protect_false_lifts_the_protection_to_replace_on_purpose(which):
    plan, overrides, stateful = STACKS[which]
    resources = plan(*overrides, "protect=false").resources
    assert stateful <= {(r.type, r.name) for r in resources}
    assert not [r.name for r in resources if r.protect]
