"""What each platform gives the app, derived from the resources each stack creates: one capability per row.

    python -m offline.parity [--markdown | --json] [--config KEY=VALUE ...]

Every row has one detector per platform (`offline.parity.k8s`, `offline.parity.heroku`): a function of that
stack's offline plan (`offline.plan.Plan`) and of the app's contract (its Procfile, app.json and Dockerfile, which the
plan deployed) that returns the cell (what provides the capability, the resources that do, the settings that control
them), "not used by this app" with how the app would use it, a gap of its own, or None. None is rendered from the
row's explanation for that platform: why it is not available and the workaround. The explanations are used only when
the detector finds nothing, so a stack that stops creating a resource changes its cell. What paasport cannot know of
an app (its log format, its server's shutdown timeout) a cell states as the platform's fact and the app's part.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.paths import PROJECT_DIR
from infra.settings import key_platforms
from offline import plan as offline_plan
from offline import types as t
from offline.parity import heroku, k8s
from offline.parity.cells import Cell, Gap, Unused, label

__all__ = ["CAPABILITIES", "CLUSTER_STACK", "PLATFORMS", "Capability", "Cell", "Gap", "Table", "Unused", "cell_text",
           "label", "main", "on_cluster", "platform_of", "run", "table", "to_json", "to_markdown", "to_text"]

PLATFORMS = {"k8s": "Kubernetes", "heroku": "Heroku"}
# The stack that prepares the cluster the k8s stack runs on (README: `pulumi up --stack cluster`, then k8s): what it
# installs cluster-wide (a log pipeline, Prometheus and Grafana) counts in the k8s column.
CLUSTER_STACK = "cluster"
Detector = Callable[[offline_plan.Plan], Cell | Unused | Gap | None]
DETECTORS = {"k8s": k8s, "heroku": heroku}  # each platform's module of detectors, one function per row


@dataclass(frozen=True)
class Capability:
    """One row: each platform's detector (none: never provided there) and, per platform, the explanation shown
    when the detector finds nothing."""

    name: str
    detector: str  # the detector's name in each platform's module
    gaps: dict[str, Gap]
    detectors: dict[str, Detector] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        found = {p: getattr(module, self.detector) for p, module in DETECTORS.items() if hasattr(module, self.detector)}
        if not found:
            raise TypeError(f"{self.name}: no platform module defines the detector {self.detector}")
        object.__setattr__(self, "detectors", found)

    def detect_on(self, platform: str, plan: offline_plan.Plan) -> Cell | Unused | Gap | None:
        detector = self.detectors.get(platform)
        return detector(plan) if detector else None

    def detect(self, plan: offline_plan.Plan) -> Cell | Unused | Gap | None:
        """What any platform's detector finds in `plan` (a plan holds one platform's resources)."""
        return next((cell for p in PLATFORMS if (cell := self.detect_on(p, plan)) is not None), None)


# --- the rows -----------------------------------------------------------------------------------------------------

_NOT_HERE = "this stack creates nothing that provides it"

CAPABILITIES: tuple[Capability, ...] = (
    Capability("HTTPS with automatic certificate", "https", {
        "k8s": Gap("no cert-manager Certificate from an issuer the stack names or creates, with an Emissary Host "
                   "serving it", "set `hostname`, and `tls_issuer` or `acme_email`"),
        "heroku": Gap("no Heroku app", "set `app_name`"),
    }),
    Capability("Custom domain", "custom_domain", {
        "k8s": Gap("no Emissary Host and Mapping for a hostname", "set `hostname`"),
        "heroku": Gap("`domain` is empty, so the app serves only its herokuapp.com address",
                      "set `domain` (basic dynos or larger) and point its CNAME at `dns_target`"),
    }),
    Capability("HTTP to HTTPS redirect", "https_redirect", {
        "k8s": Gap("the Emissary Host does not redirect insecure requests", "restore its requestPolicy.insecure"),
        "heroku": Gap("Heroku's router serves http:// as well and never redirects",
                      "redirect in the app: answer a request whose X-Forwarded-Proto is http (Heroku's router sets "
                      "it) with a redirect to https://"),
    }),
    Capability("Managed PostgreSQL", "postgres", {
        "k8s": Gap("the stack creates no PostgreSQL chart, though app.json lists the heroku-postgresql add-on",
                   "restore the chart of infra/k8s/postgres.py"),
        "heroku": Gap("the stack attaches no heroku-postgresql add-on, though app.json lists it",
                      "restore the add-on of infra/heroku/postgres.py"),
    }),
    Capability("DB credentials as secrets", "db_secrets", {
        "k8s": Gap("the pods do not read the password from a secret Secret", "restore the Secret and secretKeyRef"),
        "heroku": Gap("DATABASE_URL is not the add-on's", "remove DATABASE_URL from `config_vars`"),
    }),
    Capability("DB TLS", "db_tls", {
        "k8s": Gap("the web pods' PGSSLMODE (the app's own) asks for no TLS and `linkerd_inject` is off, so nothing "
                   "encrypts the connection", "PGSSLMODE `require` in app.json's env (or none: the stack's `prefer`), "
                                              "or `linkerd_inject: true`"),
        "heroku": Gap("the config var PGSSLMODE (the app's own) asks for no TLS, which Heroku Postgres refuses",
                      "PGSSLMODE `require` in app.json's env, or none (the stack's `require`)"),
    }),
    Capability("Release phase", "release_phase", {
        "k8s": Gap("no release Job that the Deployment waits for, though the Procfile has a `release:` line",
                   "restore the release Job"),
        "heroku": Gap("no build or release with a release phase, though the Procfile has a `release:` line",
                      "deploy with `pulumi up`"),
    }),
    Capability("Scheduled jobs", "scheduled_jobs", {
        "k8s": Gap("the stack creates no CronJob for the app's `cron` tasks", "restore the CronJobs of "
                                                                             "infra/k8s/one_off.py"),
        "heroku": Gap("Heroku Scheduler has no Platform API for its jobs, so the stack cannot create them; it runs "
                      "a job every 10 minutes, every hour or every day, best effort",
                      "`heroku addons:create scheduler:standard`, then add each app.json `cron` task in `heroku "
                      "addons:open scheduler` as the preview warning and the `heroku_scheduler_jobs` output say "
                      "(frequency and command); a schedule Scheduler cannot keep needs a clock process"),
    }),
    Capability("One-off commands", "one_off", {
        "k8s": Gap("no web Deployment to make the one-off pod from", _NOT_HERE),
        "heroku": Gap("no Heroku app", _NOT_HERE),
    }),
    Capability("Zero-downtime deploy", "zero_downtime", {
        "k8s": Gap("the Deployment may take pods out before new ones are ready",
                   "rolling update with maxUnavailable 0 and a readiness probe"),
        "heroku": Gap("eco and basic dynos cannot preboot: a deploy stops the old dyno before the new one boots, so "
                      "requests fail for a few seconds", "`dyno_size: standard-1x` or larger; the stack then enables "
                                                          "preboot (`preboot`)"),
    }),
    Capability("Rollback", "rollback", {
        "k8s": Gap("the Deployment keeps no earlier ReplicaSets", "set a revisionHistoryLimit above 0"),
        "heroku": Gap("no build or release to roll back to", "deploy with `pulumi up`"),
    }),
    Capability("Horizontal scaling", "scaling", {
        "k8s": Gap("no Deployment", _NOT_HERE),
        "heroku": Gap("eco and basic run one web dyno", "`dyno_size: standard-1x` or larger, then `dyno_quantity`"),
    }),
    Capability("Autoscaling", "autoscaling", {
        "k8s": Gap("`hpa_enabled` is false", "set `hpa_enabled: true` (needs metrics-server)"),
        "heroku": Gap("Heroku Autoscaling is only for performance (and Private/Shield) web dynos and is switched on "
                      "in the Dashboard: no Platform API or provider resource sets it",
                      "`dyno_size: performance-m` or larger, then Dashboard > Resources > Enable Autoscaling; or "
                      "an autoscaling add-on such as Judoscale"),
    }),
    Capability("Health checks", "health_checks", {
        "k8s": Gap("the web container has no liveness and readiness probes",
                   "give the web process healthchecks in the app's app.json"),
        "heroku": Gap("the Common Runtime does not probe dynos (any app.json healthchecks go unused): it restarts "
                      "only crashed dynos and web dynos that do not bind $PORT within 60 s",
                      "an uptime monitor (add-on or external) on a path of the app, that alerts"),
    }),
    Capability("Hardened app containers", "hardening", {
        "k8s": Gap("no app Deployment", _NOT_HERE),
        "heroku": Gap("dynos are Heroku's own containers, run as a non-root user of Heroku's (not the Dockerfile's "
                      "USER): no read-only root filesystem or securityContext to set (the filesystem is writable and "
                      "discarded at each restart)", "the k8s stack, for a hardened pod"),
    }),
    Capability("Graceful shutdown", "graceful_shutdown", {
        "k8s": Gap("no web Deployment", _NOT_HERE),
        "heroku": Gap("no web formation", _NOT_HERE),
    }),
    Capability("Logs", "logs", {
        "k8s": Gap("no Deployment", _NOT_HERE),
        "heroku": Gap("no Heroku app", _NOT_HERE),
    }),
    Capability("Metrics", "metrics", {
        "k8s": Gap("the web pods carry no prometheus.io/scrape annotation, though app.json sets "
                   "paasport.metrics_path", "restore the scrape annotations"),
        "heroku": Gap("eco dynos get no Application Metrics, `runtime_metrics` is off, and nothing scrapes the app's "
                      "metrics path on Heroku", "`dyno_size: basic` or larger and `runtime_metrics: true`, or a "
                                            "metrics add-on"),
    }),
    Capability("Log drain / log shipping", "log_shipping", {
        "k8s": Gap("log collection is cluster-wide (a node agent per node), outside one app's namespace, and the "
                   "cluster stack's logs part is off", "`logs_enabled: true` in Pulumi.cluster.yaml (Fluent Bit to "
                                                       "OpenSearch), or your cloud's logging agent as a DaemonSet"),
        "heroku": Gap("`log_drain_url` is unset, and Logplex keeps only the last 1,500 lines",
                      "`pulumi config set --secret log_drain_url syslog+tls://...`, or a logging add-on"),
    }),
    Capability("DB backups", "backups", {
        "k8s": Gap("`backup_enabled` is false and the chart takes no backups",
                   "set `backup_enabled: true`, or snapshot the database volume (e.g. Velero)"),
        "heroku": Gap("essential plans have no Continuous Protection, and a PGBackups schedule has no Platform API "
                      "endpoint or provider resource for the stack to create",
                      "run the `heroku_backup_schedule` output once (`heroku pg:backups:schedule DATABASE_URL "
                      "--at '03:00 UTC'`), or `postgres_plan: standard-0` or higher"),
    }),
    Capability("Network isolation of the DB", "db_isolation", {
        "k8s": Gap("no NetworkPolicy selects the PostgreSQL pods", "restore the database NetworkPolicy"),
        "heroku": Gap("Heroku Postgres on the Common Runtime accepts connections from anywhere on the internet "
                      "(credentials and TLS protect it)", "a Private Space with a private Postgres plan (Heroku "
                                                          "Enterprise), or `heroku pg:credentials:rotate` after "
                                                          "any leak"),
    }),
    Capability("Move to the other platform", "move", {
        "k8s": Gap("the stack has no database chart and outputs for `make move` to find", "`pulumi up` the stack"),
        "heroku": Gap("the stack has no Heroku Postgres add-on and outputs for `make move` to find",
                      "`pulumi up` the stack"),
    }),
    Capability("Estimated monthly cost", "cost", {
        "k8s": Gap("no Deployment or database to size", _NOT_HERE),
        "heroku": Gap("no formation to price", _NOT_HERE),
    }),
)


# --- the table ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """The rows for the stacks compared, in CAPABILITIES order; each cell a Cell or the row's Gap."""

    stacks: dict[str, str]  # platform -> stack name
    rows: list[tuple[str, dict[str, Cell | Gap | Unused]]]


def platform_of(stack: str, overrides: list[str]) -> str:
    _, config, _ = offline_plan.load_config(stack, [o for o in overrides if _root(o) == "platform"])
    return config.get("paasport:platform", "")


def _root(override: str) -> str:
    """The project key an override sets (`config_vars.X=1` -> config_vars); "" for another namespace's."""
    key = re.split(r"[.\[=]", override.strip(), maxsplit=1)[0]
    namespace, _, name = key.rpartition(":")
    return name if namespace in ("", "paasport") else ""


def for_platform(platform: str, overrides: list[str]) -> list[str]:
    """The overrides a stack of `platform` reads: the table's options go to each stack whose platform reads them
    (`--config replicas=3` to k8s, `--config dyno_quantity=3` to heroku), as Pulumi.yaml's tags say."""
    return [o for o in overrides if platform in key_platforms().get(_root(o), (platform,))]


def table(plans: dict[str, offline_plan.Plan]) -> Table:
    """The capability table of `plans` ({platform: plan})."""
    rows = []
    for capability in CAPABILITIES:
        cells: dict[str, Cell | Gap | Unused] = {}
        for platform, plan in plans.items():
            cells[platform] = capability.detect_on(platform, plan) or capability.gaps[platform]
        rows.append((capability.name, cells))
    return Table(stacks={p: plan.stack for p, plan in plans.items()}, rows=rows)


def on_cluster(app: offline_plan.Plan, cluster: offline_plan.Plan) -> offline_plan.Plan:
    """The k8s stack's plan with the chart releases of the cluster stack it runs on: the cluster-wide parts an app
    gets there (only releases: the detectors read the app's own Deployment, Namespace, ... from `app`)."""
    return dataclasses.replace(app, resources=[*app.resources, *(r for r in cluster.resources if r.type in t.CHARTS)])


def run(stacks: list[str], overrides: list[str] | None = None, *, name_options: bool = False) -> Table:
    """Run each stack offline and tabulate; one stack per platform, in PLATFORMS order (`name_options`: as
    `offline.plan.run`)."""
    overrides = overrides or []
    by_platform = {platform_of(stack, overrides): stack for stack in stacks}
    if set(by_platform) != set(PLATFORMS) or len(stacks) != len(PLATFORMS):
        raise pulumi.RunError(
            f"the table compares one stack per platform ({', '.join(PLATFORMS)}); --stack named {', '.join(stacks)}, "
            f"of platforms {', '.join(platform_of(s, overrides) or '?' for s in stacks)}. Fix: name one stack of each "
            f"platform, e.g. --stack {' --stack '.join(PLATFORMS)} (the default without --stack).")
    plans = {p: offline_plan.run(by_platform[p], for_platform(p, overrides), name_options=name_options)
             for p in PLATFORMS}
    if (PROJECT_DIR / f"Pulumi.{CLUSTER_STACK}.yaml").is_file():
        plans["k8s"] = on_cluster(plans["k8s"], offline_plan.run(CLUSTER_STACK))
    return table(plans)


def cell_text(cell: Cell | Gap | Unused, code: Callable[[str], str] = str) -> str:
    """One cell as the tables print it; `code` marks up resource and setting names."""
    if isinstance(cell, Gap):
        return f"not available on this platform: {cell.reason}; workaround: {cell.workaround}"
    if isinstance(cell, Unused):
        return f"not used by this app: {cell.why}; to use it: {cell.how}"
    noun = "setting" if len(cell.settings) == 1 else "settings"
    settings = f"; {noun} {', '.join(code(s) for s in cell.settings)}" if cell.settings else ""
    return f"{cell.what} ({', '.join(code(r) for r in cell.resources)}{settings})"


def to_markdown(t: Table) -> str:
    """docs/parity.md's table: generated, never edited by hand."""
    stacks = " and ".join(f"`Pulumi.{s}.yaml`" for s in t.stacks.values())
    lines = [
        f"Generated by `python -m offline.parity --markdown` from the resources that {stacks} create"
        + (f" (the Kubernetes column on the cluster that `Pulumi.{CLUSTER_STACK}.yaml` prepares)"
           if (PROJECT_DIR / f"Pulumi.{CLUSTER_STACK}.yaml").is_file() else "")
        + " (a test keeps this copy current), for the app of `app_dir`: each cell says what gives the app the "
        "capability, or that the app does not use it and how it would, or that the platform lacks it and the "
        "workaround. `make parity ARGS=\"--config app_dir=...\"` makes the table of another app.",
        "",
        "| Capability | " + " | ".join(f"{PLATFORMS[p]} (`{s}`)" for p, s in t.stacks.items()) + " |",
        "| --- |" + " --- |" * len(t.stacks),
    ]
    for name, cells in t.rows:
        texts = [cell_text(cells[p], lambda s: f"`{s}`").replace("|", "\\|") for p in t.stacks]
        lines.append(f"| {name} | " + " | ".join(texts) + " |")
    return "\n".join(lines)


def to_text(t: Table, width: int = 120) -> str:
    """The terminal's table: a block per capability, a wrapped line per platform."""
    heads = {p: p if p == s else f"{p} ({s})" for p, s in t.stacks.items()}
    pad = max(len(h) for h in heads.values()) + 2
    out = [f"Capability parity of {' and '.join(f'Pulumi.{s}.yaml' for s in t.stacks.values())}, derived from the "
           "resources each creates:"]
    for name, cells in t.rows:
        out.append("")
        out.append(name)
        for p in t.stacks:
            out.append(textwrap.fill(cell_text(cells[p], str), width=width, initial_indent=f"  {heads[p]:<{pad}}",
                                     subsequent_indent=" " * (pad + 2), break_on_hyphens=False))
    return "\n".join(out)


def to_json(t: Table) -> dict[str, Any]:
    """The same table as data: per row and platform, either what provides it or why not and the workaround."""

    def cell(c: Cell | Gap | Unused) -> dict[str, Any]:
        if isinstance(c, Gap):
            return {"available": False, "reason": c.reason, "workaround": c.workaround}
        if isinstance(c, Unused):
            return {"available": True, "used": False, "reason": c.why, "how": c.how}
        return {"available": True, "used": True, "what": c.what, "resources": list(c.resources),
                "settings": list(c.settings)}

    return {"stacks": t.stacks,
            "rows": [{"capability": name, **{p: cell(cells[p]) for p in t.stacks}} for name, cells in t.rows]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", action="append", default=[],
                        help="a stack to compare, one per platform (default: k8s and heroku)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key in every stack (repeatable)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--markdown", action="store_true", help="the table as Markdown (docs/parity.md's)")
    output.add_argument("--json", action="store_true", help="the table as JSON")
    args = parser.parse_args(argv)
    try:
        table = run(args.stack or list(PLATFORMS), args.config, name_options=True)
    except pulumi.RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(to_json(table), indent=2))
    else:
        print(to_markdown(table) if args.markdown else to_text(table))
    return 0

