"""`python -m offline.parity`: one capability table, derived from what each stack creates, kept in docs/parity.md."""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess

import pytest

from offline import parity
from offline import plan as offline_plan
from offline.parity import cells as parity_cells
from offline.parity import heroku as heroku_detectors
from offline.parity import k8s as k8s_detectors
from tests.support import REPO, heroku_plan, k8s_plan, offline_cli

# What the committed stack files promise for the actors app: (Kubernetes, Heroku), each "given" (a Cell), "gap" (not
# available on that platform) or "unused" (the app does not use it). A stack that stops providing one of these fails
# here (and in the docs/parity.md test, whose table would change). Other apps' tables: test_parity_apps.py.
PROMISED = {
    "HTTPS with automatic certificate": ("given", "given"),
    "Custom domain": ("given", "given"),
    "HTTP to HTTPS redirect": ("given", "given"),
    "Managed PostgreSQL": ("given", "given"),
    "DB credentials as secrets": ("given", "given"),
    "DB TLS": ("given", "given"),
    "Release phase": ("given", "given"),
    "Scheduled jobs": ("unused", "unused"),  # the actors app has no cron tasks
    "One-off commands": ("given", "given"),
    "Zero-downtime deploy": ("given", "gap"),
    "Rollback": ("given", "given"),
    "Horizontal scaling": ("given", "gap"),
    "Autoscaling": ("given", "gap"),
    "Health checks": ("given", "gap"),
    "Hardened app containers": ("given", "gap"),
    "Graceful shutdown": ("given", "given"),
    "Logs": ("given", "given"),
    "Metrics": ("given", "given"),
    "Log drain / log shipping": ("given", "gap"),
    "DB backups": ("given", "gap"),
    "Network isolation of the DB": ("given", "gap"),
    "Move to the other platform": ("given", "given"),
    "Estimated monthly cost": ("given", "given"),
}
KIND = {parity.Cell: "given", parity.Gap: "gap", parity.Unused: "unused"}
START, END = "<!-- parity:start -->", "<!-- parity:end -->"


@functools.cache
def cluster_plan(*overrides: str) -> offline_plan.Plan:
    return offline_plan.run(parity.CLUSTER_STACK, list(overrides))


def on_cluster(*k8s_overrides: str, cluster: tuple[str, ...] = ()) -> offline_plan.Plan:
    """The k8s stack's plan on the cluster the cluster stack prepares, as `offline.parity.run` tabulates it."""
    return parity.on_cluster(k8s_plan(*k8s_overrides), cluster_plan(*cluster))


def table(k8s_overrides: tuple[str, ...] = (), heroku_overrides: tuple[str, ...] = (),
          cluster: tuple[str, ...] = ()) -> parity.Table:
    return parity.table({"k8s": on_cluster(*k8s_overrides, cluster=cluster), "heroku": heroku_plan(*heroku_overrides)})


def cells(t: parity.Table) -> dict[str, dict[str, parity.Cell | parity.Gap]]:
    return dict(t.rows)


def test_the_committed_stacks_provide_what_the_table_promises():
    found = {name: tuple(KIND[type(row[p])] for p in ("k8s", "heroku")) for name, row in cells(table()).items()}
    assert found == PROMISED


def test_every_row_explains_a_gap_on_both_platforms_with_a_workaround():
    assert [c.name for c in parity.CAPABILITIES] == list(PROMISED)
    for capability in parity.CAPABILITIES:
        assert capability.gaps.keys() == set(parity.PLATFORMS), capability.name
        assert all(g.reason and g.workaround for g in capability.gaps.values()), capability.name


def _without(plan: offline_plan.Plan, labels: tuple[str, ...]) -> offline_plan.Plan:
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
    plan = on_cluster(*PLANS[which]) if which == "k8s" else heroku_plan(*PLANS[which])
    present = {parity.label(r) for r in plan.resources}
    checked = 0
    for capability in parity.CAPABILITIES:
        cell = capability.detect(plan)
        if not isinstance(cell, parity.Cell):
            continue  # the row's gap, or what this app does not use (test_parity_apps.py)
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
    [(("backup_enabled=false",), "DB backups"), (("hpa_enabled=false", "replicas=1"), "Autoscaling")],
)
def test_k8s_settings_that_drop_a_capability_show_its_gap(overrides, capability):
    assert isinstance(cells(table(overrides))[capability]["k8s"], parity.Gap)


def test_the_cluster_stack_log_pipeline_and_dashboards_fill_the_k8s_column():
    row = cells(table())
    assert "Fluent Bit" in row["Log drain / log shipping"]["k8s"].what
    assert ("and its Grafana's dashboard charts db_pool_connections, http_request_duration_seconds, "
            "http_requests_total, which the app must export under those names") in row["Metrics"]["k8s"].what
    off = cells(table(cluster=("logs_enabled=false", "metrics_enabled=false")))
    assert off["Log drain / log shipping"]["k8s"] == next(
        c for c in parity.CAPABILITIES if c.name == "Log drain / log shipping").gaps["k8s"]
    assert "Grafana" not in off["Metrics"]["k8s"].what


def test_k8s_cost_sums_the_requests_of_what_runs():
    cost = cells(table(("hpa_enabled=false", "replicas=3")))["Estimated monthly cost"]["k8s"]
    # 3 web pods of 100m/256Mi + PostgreSQL's 250m/256Mi; 8Gi database + 8Gi backup volumes.
    assert "0.55 CPU / 1024 MiB" in cost.what and "up to" not in cost.what and "16 GiB" in cost.what


def parity_cli(*args: str) -> subprocess.CompletedProcess:
    return offline_cli("parity", *args)


def test_the_cli_prints_a_readable_table_with_every_row_and_the_same_as_json():
    text = parity_cli()
    assert text.returncode == 0, text.stderr
    assert all(f"\n{name}\n" in text.stdout for name in PROMISED)
    assert max(len(line) for line in text.stdout.splitlines()) <= 120
    data = json.loads(parity_cli("--json").stdout)
    assert data["stacks"] == {"k8s": "k8s", "heroku": "heroku"}
    kinds = {(True, True): "given", (False, None): "gap", (True, False): "unused"}
    assert {row["capability"]: tuple(kinds[row[p]["available"], row[p].get("used")] for p in ("k8s", "heroku"))
            for row in data["rows"]} == PROMISED
    gap = next(row["heroku"] for row in data["rows"] if row["capability"] == "Autoscaling")
    assert gap["reason"] and gap["workaround"]


def test_the_cli_refuses_stacks_that_are_not_one_per_platform():
    result = parity_cli("--stack", "k8s", "--stack", "k8s")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: the table compares one stack per platform (k8s, heroku); --stack named k8s, k8s, of platforms k8s, "
        "k8s. Fix: name one stack of each platform, e.g. --stack k8s --stack heroku (the default without --stack)."]


def test_the_cli_names_the_option_of_a_bad_value():
    result = parity_cli("--config", "replicas=abc")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: Invalid configuration of stack 'k8s' (Pulumi.k8s.yaml and command-line options):",
        "  - paasport:replicas (--config replicas) is 'abc', not a whole number. Fix: give --config replicas=2 "
        "instead."]


def test_the_docs_show_the_current_table():
    page = (REPO / "docs" / "parity.md").read_text()
    block = page.split(START, 1)[1].split(END, 1)[0].strip()
    current = parity_cli("--markdown")
    assert current.returncode == 0, current.stderr
    assert block == current.stdout.strip(), (
        "docs/parity.md's table is stale: replace the lines between the parity markers with the output of "
        "`python -m offline.parity --markdown`")


def test_each_row_has_a_kubernetes_detector_and_heroku_ones_where_the_platform_can_provide_it():
    assert all(c.detectors.keys() >= {"k8s"} for c in parity.CAPABILITIES)
    never_on_heroku = {c.name for c in parity.CAPABILITIES if "heroku" not in c.detectors}
    assert never_on_heroku == {"Autoscaling", "Health checks", "Hardened app containers"}
    for module in (k8s_detectors, heroku_detectors):  # no detector left over, unused
        public = {name for name, value in vars(module).items()
                  if callable(value) and not name.startswith("_") and value.__module__ == module.__name__}
        assert public <= {c.detector for c in parity.CAPABILITIES}, module.__name__


def test_the_https_cell_names_the_issuer_the_certificate_comes_from():
    existing = parity.CAPABILITIES[0].detect(k8s_plan())
    assert "from the cluster's existing ClusterIssuer letsencrypt-prod;" in existing.what
    assert existing.resources == ("Certificate paasport-tls", "Host paasport")
    own = parity.CAPABILITIES[0].detect(k8s_plan("tls_issuer=", "acme_email=ops@example.com"))
    assert ("from the stack's own ACME Issuer paasport-acme (HTTP-01 challenges routed by Emissary: Mapping "
            "paasport-acme-challenge);") in own.what
    assert own.resources == ("Certificate paasport-tls", "Issuer paasport-acme", "Mapping paasport-acme-challenge",
                             "Host paasport")


def test_an_issuer_whose_challenges_nothing_routes_gives_no_https_cell():
    plan = k8s_plan("tls_issuer=", "acme_email=ops@example.com")
    assert parity.CAPABILITIES[0].detect(_without(plan, ("Mapping paasport-acme-challenge",))) is None
    assert parity.CAPABILITIES[0].detect(_without(plan, ("Issuer paasport-acme",))) is None


@pytest.mark.parametrize(("files", "command", "expected"), [
    ({"gunicorn.conf.py": "workers = 2\ngraceful_timeout = 20\n"},
     ["gunicorn", "--config", "gunicorn.conf.py", "actors:create_app()"],
     parity_cells.Shutdown("gunicorn", 20, "app/gunicorn.conf.py")),
    ({"actors/serve.py": "GRACEFUL_TIMEOUT_S = 15\n"}, ["python", "-m", "actors.serve"],
     parity_cells.Shutdown("granian", 15, "app/actors/serve.py")),
    ({"actors/serve.py": "TIMEOUT = 15\n"}, ["python", "-m", "actors.serve"], None),
    ({}, ["uvicorn", "actors:app"], None),
])
def test_the_shutdown_timeout_is_read_from_the_server_the_app_runs(monkeypatch, tmp_path, files, command, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(parity_cells, "APP_DIR", tmp_path)
    assert parity_cells.shutdown(command) == expected


def test_the_graceful_shutdown_cells_follow_the_servers_timeout(monkeypatch):
    for module in (k8s_detectors, heroku_detectors):
        monkeypatch.setattr(module, "shutdown", lambda *_: parity_cells.Shutdown("granian", 30, "app/x.py"))
    # 30 s is not under the 30 s Heroku gives between SIGTERM and SIGKILL, nor under the 25 s the pod gives after its
    # 5 s preStop sleep: in-flight requests would be killed.
    assert k8s_detectors.graceful_shutdown(k8s_plan()) == parity.Gap(
        "granian finishes requests within 30 s (app/x.py), but SIGKILL comes 25 s after SIGTERM",
        "a graceful timeout under 25 s in app/x.py")
    assert heroku_detectors.graceful_shutdown(heroku_plan()) == parity.Gap(
        "granian finishes requests within 30 s (app/x.py), but the dyno manager's SIGKILL comes 30 s after SIGTERM",
        "a graceful timeout under 30 s in app/x.py")
    monkeypatch.setattr(k8s_detectors, "shutdown", lambda *_: parity_cells.Shutdown("granian", 24, "app/x.py"))
    assert k8s_detectors.graceful_shutdown(k8s_plan()).what.endswith(
        "SIGKILL comes 30 s after the stop began; granian stops accepting and finishes requests within 24 s (app/x.py)")
