"""`python -m infra.plan --parity`: one capability table, derived from what each stack creates, kept in the README."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from infra import parity
from infra import plan as infra_plan
from tests.conftest import REPO
from tests.infra_helpers import heroku_plan, k8s_plan

# What the committed stack files promise: (Kubernetes provides it, Heroku provides it). A stack that stops
# providing one of these fails here (and in the README test, whose table would change).
PROMISED = {
    "HTTPS with automatic certificate": (True, True),
    "Custom domain": (True, True),
    "HTTP to HTTPS redirect": (True, True),
    "Managed PostgreSQL": (True, True),
    "DB credentials as secrets": (True, True),
    "DB TLS": (True, True),
    "Data load / release phase": (True, True),
    "Zero-downtime deploy": (True, False),
    "Rollback": (True, True),
    "Horizontal scaling": (True, False),
    "Autoscaling": (True, False),
    "Health checks": (True, False),
    "Graceful shutdown": (True, True),
    "Logs": (True, True),
    "Metrics": (True, True),
    "Log drain / log shipping": (False, False),
    "DB backups": (True, False),
    "Network isolation of the DB": (True, False),
    "Estimated monthly cost": (True, True),
}
START, END = "<!-- parity:start -->", "<!-- parity:end -->"


def table(k8s_overrides: tuple[str, ...] = (), heroku_overrides: tuple[str, ...] = ()) -> parity.Table:
    return parity.table({"k8s": k8s_plan(*k8s_overrides), "heroku": heroku_plan(*heroku_overrides)})


def cells(t: parity.Table) -> dict[str, dict[str, parity.Cell | parity.Gap]]:
    return dict(t.rows)


def test_the_committed_stacks_provide_what_the_table_promises():
    found = {name: tuple(isinstance(row[p], parity.Cell) for p in ("k8s", "heroku"))
             for name, row in cells(table()).items()}
    assert found == PROMISED


def test_every_row_explains_a_gap_on_both_platforms_with_a_workaround():
    assert [c.name for c in parity.CAPABILITIES] == list(PROMISED)
    for capability in parity.CAPABILITIES:
        assert capability.gaps.keys() == set(parity.PLATFORMS), capability.name
        assert all(g.reason and g.workaround for g in capability.gaps.values()), capability.name


def _without(plan: infra_plan.Plan, labels: tuple[str, ...]) -> infra_plan.Plan:
    return dataclasses.replace(plan, resources=[r for r in plan.resources if parity.label(r) not in labels])


# The committed stacks, and Heroku with every gap it can close closed, so more of its cells are checked.
PLANS = {
    "k8s": (),
    "heroku": (),
    "heroku, gaps closed": ("dyno_size=standard-1x", "dyno_quantity=2", "postgres_plan=standard-0",
                            "paasport:log_drain_url=syslog+tls://logs.example.com:6514"),
}


@pytest.mark.parametrize("which", PLANS)
def test_each_cell_is_derived_from_the_resources_it_names(which):
    plan = k8s_plan(*PLANS[which]) if which == "k8s" else heroku_plan(*PLANS[which])
    present = {parity.label(r) for r in plan.resources}
    checked = 0
    for capability in parity.CAPABILITIES:
        cell = capability.detect(plan)
        if cell is None:
            continue
        checked += 1
        assert cell.resources and set(cell.resources) <= present, capability.name
        # Drop those resources from the recorded plan, as a change to the stack would: the cell must change.
        assert capability.detect(_without(plan, cell.resources)) != cell, capability.name
    assert checked >= 10


def test_dropping_the_autoscaler_from_the_k8s_stack_turns_its_cell_into_the_explained_gap():
    row = cells(table(("hpa_enabled=false",)))["Autoscaling"]
    autoscaling = next(c for c in parity.CAPABILITIES if c.name == "Autoscaling")
    assert row["k8s"] == autoscaling.gaps["k8s"]
    assert "not available on this platform: `hpa_enabled` is false" in parity.to_text(table(("hpa_enabled=false",)))


@pytest.mark.parametrize(
    ("overrides", "capability", "says"),
    [
        (("dyno_size=standard-1x",), "Zero-downtime deploy", "preboot"),
        (("dyno_size=standard-1x", "dyno_quantity=3"), "Horizontal scaling", "3 x standard-1x"),
        (("postgres_plan=standard-0",), "DB backups", "Continuous Protection"),
        (("paasport:log_drain_url=syslog+tls://logs.example.com:6514",), "Log drain / log shipping", "log_drain_url"),
        (("dyno_size=standard-2x", "dyno_quantity=2", "postgres_plan=standard-0"), "Estimated monthly cost",
         "about $150 a month"),
    ],
)
def test_heroku_settings_close_the_gaps_the_platform_can_close(overrides, capability, says):
    cell = cells(table(heroku_overrides=overrides))[capability]["heroku"]
    assert isinstance(cell, parity.Cell) and says in cell.what + " ".join(cell.settings)


@pytest.mark.parametrize(
    ("overrides", "capability"),
    [(("backup_enabled=false",), "DB backups"), (("linkerd_inject=false",), "DB TLS"),
     (("hpa_enabled=false", "replicas=1"), "Autoscaling")],
)
def test_k8s_settings_that_drop_a_capability_show_its_gap(overrides, capability):
    assert isinstance(cells(table(overrides))[capability]["k8s"], parity.Gap)


def test_k8s_cost_sums_the_requests_of_what_runs():
    cost = cells(table(("hpa_enabled=false", "replicas=3")))["Estimated monthly cost"]["k8s"]
    # 3 web pods of 100m/256Mi + PostgreSQL's 250m/256Mi; 8Gi database + 8Gi backup volumes.
    assert "0.55 CPU / 1024 MiB" in cost.what and "up to" not in cost.what and "16 GiB" in cost.what


def plan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.plan", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_the_cli_prints_a_readable_table_with_every_row_and_the_same_as_json():
    text = plan_cli("--parity")
    assert text.returncode == 0, text.stderr
    assert all(f"\n{name}\n" in text.stdout for name in PROMISED)
    assert max(len(line) for line in text.stdout.splitlines()) <= 120
    data = json.loads(plan_cli("--parity", "--json").stdout)
    assert data["stacks"] == {"k8s": "k8s", "heroku": "heroku"}
    assert {row["capability"]: (row["k8s"]["available"], row["heroku"]["available"]) for row in data["rows"]} == (
        PROMISED)
    gap = next(row["heroku"] for row in data["rows"] if row["capability"] == "Autoscaling")
    assert gap["reason"] and gap["workaround"]


def test_the_cli_refuses_stacks_that_are_not_one_per_platform():
    result = plan_cli("--parity", "--stack", "k8s", "--stack", "k8s")
    assert result.returncode == 2 and "one stack per platform" in result.stderr


def test_the_readme_shows_the_current_table():
    readme = (REPO / "README.md").read_text()
    block = readme.split(START, 1)[1].split(END, 1)[0].strip()
    current = plan_cli("--parity", "--markdown")
    assert current.returncode == 0, current.stderr
    assert block == current.stdout.strip(), (
        "README.md's parity table is stale: replace the lines between the parity markers with the output of "
        "`python -m infra.plan --parity --markdown`")
