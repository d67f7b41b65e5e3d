"""What holds data is protected: Pulumi refuses to delete or replace it while `paasport:protect` is true (the
default), so a setting that would replace it stops `pulumi up` instead of losing the data."""

from __future__ import annotations

import pytest

from offline import types as t
from tests.support import REPO, heroku_plan, k8s_plan

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


def _settings_rows() -> dict[str, str]:
    """docs/settings.md, "Settings and later changes": each table row by its first cell."""
    page = (REPO / "docs" / "settings.md").read_text()
    text = page.split("# Settings and later changes\n", 1)[1].split("\n## ", 1)[0]
    return {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| `")}


UNPROTECT = "`pulumi config set protect false` and `pulumi up` on its own"


def test_the_steps_lift_protection_in_a_pulumi_up_before_the_change():
    # The engine checks the OLD state's protect flag before a delete (pulumi/pulumi pkg/resource/deploy/step.go,
    # DeleteStep.Apply: `if s.old.Protect`): protect false in the same `pulumi up` as the change still stops it.
    rows = _settings_rows()
    lifting = {key: row for key, row in rows.items() if "protect false" in row or "protect: false" in row}
    assert {"`protect`", "`namespace`", "`backup_enabled`", "`backup_storage_size`", "`<part>_enabled` (cluster)",
            "`region`", "`postgres_storage_class`"} <= set(lifting)
    for key, row in lifting.items():
        assert "protect: false" not in row, key
        steps = row.split(" | ")[-1]
        assert UNPROTECT in steps, key
        after = steps.split(UNPROTECT, 1)[1]
        assert "pulumi up" in after and "`pulumi config set protect true`, `pulumi up`" in after, key


def test_another_app_over_a_stack_is_not_said_to_keep_its_database():
    row = _settings_rows()["`app_dir`"]
    assert "keeps the database" not in row
    assert "new stack" in row and "heroku-postgresql" in row and "protected" in row
