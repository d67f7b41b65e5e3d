"""What each platform gives the app, derived from the resources each stack creates: one capability per row.

    python -m offline.parity [--markdown | --json] [--config KEY=VALUE ...]

Every row has one detector: a function of a stack's offline plan (`infra.plan.Plan`) that returns the cell (what
provides the capability, the resources that do, the settings that control them) or None. None is rendered from the
row's explanation for that platform: why it is not available and the workaround. The explanations are used only
when the detector finds nothing, so a stack that stops creating a resource changes its cell.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import sys
import tarfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc

from infra.heroku.features import PREBOOT, RUNTIME_METRICS
from infra.heroku.plans import DYNO_SIZES, POSTGRES_PLANS, PRICES_AS_OF, has_continuous_protection, monthly_cost_usd
from offline import plan as offline_plan

PLATFORMS = {"k8s": "Kubernetes", "heroku": "Heroku"}
GUNICORN_CONF = offline_plan.PROJECT_DIR / "app" / "gunicorn.conf.py"
HEROKU_SIGKILL_AFTER_S = 30  # the dyno manager's SIGTERM-to-SIGKILL grace (Dev Center: dynos, "graceful shutdown")

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 (a type token)
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
CHARTS = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
HOST = "kubernetes:getambassador.io/v3alpha1:Host"
MAPPING = "kubernetes:getambassador.io/v3alpha1:Mapping"
APP = "heroku:app/app:App"
FEATURE = "heroku:app/feature:Feature"
ADDON = "heroku:addon/addon:Addon"
BUILD = "heroku:build/build:Build"
CONTAINER_RELEASE = "pulumi-python:dynamic/heroku:ContainerRelease"
FORMATION = "heroku:formation/formation:Formation"
DOMAIN = "heroku:domain/domain:Domain"
DRAIN = "heroku:drain/drain:Drain"


@dataclass(frozen=True)
class Cell:
    """A capability the stack provides: how, through which resources, and which settings control it."""

    what: str
    resources: tuple[str, ...]
    settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gap:
    """Why a platform (as this stack uses it) lacks a capability, and what to do instead."""

    reason: str
    workaround: str


@dataclass(frozen=True)
class Capability:
    """One row: its detector and, per platform, the explanation shown when the detector finds nothing."""

    name: str
    detect: Callable[[offline_plan.Plan], Cell | None]
    gaps: dict[str, Gap]


def label(reg: offline_plan.Registration) -> str:
    """`Kind name` of a registration, as the table names it."""
    if reg.type in CHARTS:
        return f"Helm {'release' if reg.type.endswith('Release') else 'chart'} {reg.name}"
    return f"{reg.type.rsplit(':', 1)[-1]} {reg.name}"


def _all(plan: offline_plan.Plan, *types: str) -> list[offline_plan.Registration]:
    return [r for r in plan.resources if r.type in types]


def _first(plan: offline_plan.Plan, *types: str) -> offline_plan.Registration | None:
    found = _all(plan, *types)
    return found[0] if found else None


def _inputs(reg: offline_plan.Registration) -> dict[str, Any]:
    return offline_plan.reveal(reg.inputs)


def _web_container(deployment: offline_plan.Registration) -> dict[str, Any]:
    return _inputs(deployment)["spec"]["template"]["spec"]["containers"][0]


def _gunicorn(setting: str) -> int | None:
    """A literal setting of app/gunicorn.conf.py, the app's own shutdown contract."""
    for node in ast.parse(GUNICORN_CONF.read_text()).body:
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == setting for t in node.targets)
                and isinstance(node.value, ast.Constant)):
            return node.value.value
    return None


def _features(plan: offline_plan.Plan) -> dict[str, offline_plan.Registration]:
    return {_inputs(r)["name"]: r for r in _all(plan, FEATURE) if _inputs(r).get("enabled", True)}


def _dyno(plan: offline_plan.Plan) -> tuple[offline_plan.Registration, str, int] | None:
    formation = next((r for r in _all(plan, FORMATION) if _inputs(r).get("type") == "web"), None)
    if formation is None:
        return None
    spec = _inputs(formation)
    return formation, spec["size"], spec["quantity"]


def _postgres_plan(plan: offline_plan.Plan) -> tuple[offline_plan.Registration, str] | None:
    addon = next((r for r in _all(plan, ADDON) if _inputs(r)["plan"].startswith("heroku-postgresql:")), None)
    return (addon, _inputs(addon)["plan"].split(":", 1)[1]) if addon else None


def _chart(plan: offline_plan.Plan) -> tuple[offline_plan.Registration, dict[str, Any]] | None:
    chart = next((r for r in _all(plan, *CHARTS) if _inputs(r)["chart"].endswith("/postgresql")), None)
    return (chart, _inputs(chart)) if chart else None


# --- detectors: one per row, each looking for what would provide the capability on either platform -------------


def https(plan: offline_plan.Plan) -> Cell | None:
    cert, host = _first(plan, CERTIFICATE), _first(plan, HOST)
    if cert and host and _inputs(host)["spec"]["tlsSecret"]["name"] == _inputs(cert)["spec"]["secretName"]:
        spec = _inputs(cert)["spec"]
        return Cell(f"cert-manager issues and renews the certificate of {', '.join(spec['dnsNames'])} from "
                    f"ClusterIssuer {spec['issuerRef']['name']}; Emissary terminates TLS with it",
                    (label(cert), label(host)), ("tls_issuer", "acme_email"))
    app, domain = _first(plan, APP), _first(plan, DOMAIN)
    if app and domain and _inputs(app).get("acm"):
        return Cell(f"ACM issues and renews the certificate of {_inputs(domain)['hostname']}; the herokuapp.com "
                    "address has Heroku's", (label(app), label(domain)), ("domain",))
    if app:
        return Cell("Heroku's certificate on the herokuapp.com address (no custom domain, so no ACM)",
                    (label(app),), ("domain",))
    return None


def custom_domain(plan: offline_plan.Plan) -> Cell | None:
    host, mapping = _first(plan, HOST), _first(plan, MAPPING)
    if host and mapping and _inputs(host)["spec"]["hostname"] == _inputs(mapping)["spec"]["hostname"]:
        return Cell(f"{_inputs(host)['spec']['hostname']}, routed by Emissary to the web Service; point its DNS at "
                    "the ingress", (label(host), label(mapping)), ("hostname",))
    domain = _first(plan, DOMAIN)
    if domain:
        return Cell(f"{_inputs(domain)['hostname']}; its CNAME points at the `dns_target` output (*.herokudns.com)",
                    (label(domain),), ("domain",))
    return None


def https_redirect(plan: offline_plan.Plan) -> Cell | None:
    host = _first(plan, HOST)
    if host and (_inputs(host)["spec"].get("requestPolicy") or {}).get("insecure", {}).get("action") == "Redirect":
        return Cell("Emissary answers http:// with a redirect to https:// (Host requestPolicy.insecure)",
                    (label(host),))
    app = _first(plan, APP)
    if app and _inputs(app).get("configVars", {}).get("FORCE_HTTPS") == "true":
        return Cell("the app answers http:// (X-Forwarded-Proto from Heroku's router) with a redirect to https://, "
                    "and sends HSTS", (label(app),))
    return None


def postgres(plan: offline_plan.Plan) -> Cell | None:
    chart = _chart(plan)
    if chart:
        reg, spec = chart
        size = spec["values"]["primary"]["persistence"]["size"]
        return Cell(f"Bitnami PostgreSQL chart {spec['version']} in the namespace, on a volume of {size}; you run its "
                    "upgrades and recovery", (label(reg),), ("postgres_chart_version", "postgres_storage_size"))
    addon = _postgres_plan(plan)
    if addon:
        return Cell(f"Heroku Postgres {addon[1]}; Heroku runs, patches and maintains it", (label(addon[0]),),
                    ("postgres_plan",))
    return None


def db_secrets(plan: offline_plan.Plan) -> Cell | None:
    deployment = _first(plan, DEPLOYMENT)
    if deployment:
        env = {e["name"]: e for e in _web_container(deployment)["env"]}
        ref = (env.get("PGPASSWORD", {}).get("valueFrom") or {}).get("secretKeyRef")
        secret = next((r for r in _all(plan, SECRET) if ref and _inputs(r)["metadata"]["name"] == ref["name"]), None)
        if secret and rpc.is_rpc_secret(secret.inputs.get("stringData")):
            return Cell("generated passwords, secret in Pulumi's state, stored only in a Secret; pods read "
                        "PGPASSWORD from it by secretKeyRef", (label(secret), label(deployment)))
    addon, app = _postgres_plan(plan), _first(plan, APP)
    if addon and app and "DATABASE_URL" in addon[0].outputs.get("configVars", []) and (
            "DATABASE_URL" not in _inputs(app).get("configVars", {})):
        return Cell("the add-on attaches DATABASE_URL itself: the credentials never pass through the stack",
                    (label(addon[0]),))
    return None


def db_tls(plan: offline_plan.Plan) -> Cell | None:
    namespace = _first(plan, NAMESPACE)
    if namespace and (_inputs(namespace)["metadata"].get("annotations") or {}).get("linkerd.io/inject") == "enabled":
        return Cell("Linkerd mTLS between the meshed web pods and PostgreSQL (the release and backup Jobs opt out of "
                    "the mesh)", (label(namespace),), ("linkerd_inject",))
    app, addon = _first(plan, APP), _postgres_plan(plan)
    if app and addon and _inputs(app).get("configVars", {}).get("PGSSLMODE") == "require":
        return Cell("Heroku Postgres takes TLS; PGSSLMODE=require (and the app's sslmode=require) insist on it",
                    (label(app), label(addon[0])))
    return None


def release_phase(plan: offline_plan.Plan) -> Cell | None:
    deployment = _first(plan, DEPLOYMENT)
    job = next((r for r in _all(plan, JOB) if "actors.seed" in " ".join(
        _inputs(r)["spec"]["template"]["spec"]["containers"][0].get("command", []))), None)
    if job and deployment and job.urn in deployment.dependencies:
        command = " ".join(_inputs(job)["spec"]["template"]["spec"]["containers"][0]["command"])
        return Cell(f"a Job per image runs `{command}`; the Deployment rolls only after it succeeds",
                    (label(job), label(deployment)), ("seed_archive",))
    build = _first(plan, BUILD)
    command = _heroku_yml_release(build) if build else None
    if build and command:
        return Cell(f"heroku.yml's release phase runs `{command}` on each build; a failed release is not deployed",
                    (label(build),), ("seed_archive",))
    release = _first(plan, CONTAINER_RELEASE)
    if release and "release" in (_inputs(release).get("images") or {}):
        return Cell("a `release` image (heroku.yml's release command) runs as the release phase of each release",
                    (label(release),), ("seed_archive",))
    return None


def _heroku_yml_release(build: offline_plan.Registration) -> str | None:
    """The release command inside the archive this run's Build uploads (the program writes it as it runs)."""
    archive = Path(_inputs(build)["source"]["path"])
    if not archive.is_file():
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
        member = tar.extractfile("heroku.yml")
        manifest = yaml.safe_load(member.read()) if member else {}
    command = (manifest.get("release") or {}).get("command")
    return " ".join(command) if isinstance(command, list) else command


def zero_downtime(plan: offline_plan.Plan) -> Cell | None:
    deployment = _first(plan, DEPLOYMENT)
    if deployment:
        spec = _inputs(deployment)["spec"]
        rolling = spec.get("strategy", {}).get("rollingUpdate", {})
        if rolling.get("maxUnavailable") == 0 and "readinessProbe" in _web_container(deployment):
            return Cell(f"rolling update, maxUnavailable 0, maxSurge {rolling.get('maxSurge')}: new pods take traffic "
                        "once ready, old ones stop after", (label(deployment),))
    preboot = _features(plan).get(PREBOOT)
    if preboot:
        return Cell("preboot: new web dynos start and take traffic before the old ones stop", (label(preboot),),
                    ("preboot", "dyno_size"))
    return None


def rollback(plan: offline_plan.Plan) -> Cell | None:
    deployment = _first(plan, DEPLOYMENT)
    if deployment and _inputs(deployment)["spec"].get("revisionHistoryLimit", 10) > 0:
        kept = _inputs(deployment)["spec"].get("revisionHistoryLimit", 10)
        return Cell(f"`kubectl_rollback` output (rollout undo, {kept} ReplicaSets kept); durable: `image` set to the "
                    "previous digest", (label(deployment),), ("image",))
    shipped = _first(plan, BUILD, CONTAINER_RELEASE)
    if shipped:
        return Cell("`heroku_rollback` output (releases:rollback to an earlier release); durable: the previous app/ "
                    "and `pulumi up`", (label(shipped),))
    return None


def scaling(plan: offline_plan.Plan) -> Cell | None:
    deployment, hpa = _first(plan, DEPLOYMENT), _first(plan, HPA)
    if deployment and hpa:
        spec = _inputs(hpa)["spec"]
        return Cell(f"{spec['minReplicas']} to {spec['maxReplicas']} pods, spread over nodes and zones",
                    (label(hpa), label(deployment)), ("hpa_min_replicas", "hpa_max_replicas"))
    if deployment and "replicas" in _inputs(deployment)["spec"]:
        return Cell(f"{_inputs(deployment)['spec']['replicas']} pods, spread over nodes and zones",
                    (label(deployment),), ("replicas",))
    dyno = _dyno(plan)
    if dyno and DYNO_SIZES[dyno[1]].scalable:
        return Cell(f"{dyno[2]} x {dyno[1]} web dynos (up to 100)", (label(dyno[0]),), ("dyno_quantity", "dyno_size"))
    return None


def autoscaling(plan: offline_plan.Plan) -> Cell | None:
    hpa = _first(plan, HPA)
    if hpa:
        spec = _inputs(hpa)["spec"]
        cpu = spec["metrics"][0]["resource"]["target"]["averageUtilization"]
        return Cell(f"on CPU: {spec['minReplicas']} to {spec['maxReplicas']} pods at {cpu}% of requests "
                    "(needs metrics-server)", (label(hpa),), ("hpa_enabled", "hpa_cpu_percent"))
    return None


def health_checks(plan: offline_plan.Plan) -> Cell | None:
    deployment = _first(plan, DEPLOYMENT)
    if deployment:
        container = _web_container(deployment)
        probes = {kind: container[f"{kind}Probe"]["httpGet"]["path"]
                  for kind in ("startup", "liveness", "readiness") if f"{kind}Probe" in container}
        if probes.keys() >= {"liveness", "readiness"}:
            return Cell(", ".join(f"{kind} probe {path}" for kind, path in probes.items())
                        + ": a stuck pod restarts, a pod without its database leaves the Service", (label(deployment),))
    return None


def graceful_shutdown(plan: offline_plan.Plan) -> Cell | None:
    graceful = _gunicorn("graceful_timeout")
    if graceful is None:
        return None
    deployment = _first(plan, DEPLOYMENT)
    if deployment:
        grace = _inputs(deployment)["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        if graceful < grace:
            return Cell(f"SIGTERM, SIGKILL {grace} s later; gunicorn stops accepting and finishes requests within "
                        f"{graceful} s (app/gunicorn.conf.py)", (label(deployment),))
    dyno = _dyno(plan)
    if dyno and graceful < HEROKU_SIGKILL_AFTER_S:
        return Cell(f"the dyno manager sends SIGTERM, SIGKILL {HEROKU_SIGKILL_AFTER_S} s later; gunicorn finishes "
                    f"requests within {graceful} s (app/gunicorn.conf.py)", (label(dyno[0]),))
    return None


def logs(plan: offline_plan.Plan) -> Cell | None:
    deployment = _first(plan, DEPLOYMENT)
    if deployment:
        return Cell("JSON lines on stdout, kept by the kubelet; `kubectl_logs` output", (label(deployment),),
                    ("log_level",))
    app = _first(plan, APP)
    if app:
        return Cell("JSON lines into Logplex, which keeps the last 1,500; `heroku_logs` output", (label(app),),
                    ("log_level",))
    return None


def metrics(plan: offline_plan.Plan) -> Cell | None:
    deployment = _first(plan, DEPLOYMENT)
    if deployment and (_inputs(deployment)["spec"]["template"]["metadata"].get("annotations") or {}).get(
            "prometheus.io/scrape") == "true":
        chart = _chart(plan)
        exporter = chart and chart[1]["values"].get("metrics", {}).get("enabled")
        return Cell("the app's /metrics (requests, latency, DB pool), scraped through prometheus.io/* pod annotations"
                    + ("; PostgreSQL exporter" if exporter else "; PostgreSQL exporter off"),
                    (label(deployment), *([label(chart[0])] if exporter else [])), ("postgres_metrics",))
    dyno, runtime = _dyno(plan), _features(plan).get(RUNTIME_METRICS)
    parts, resources = [], []
    if dyno and dyno[1] != "eco":
        parts.append("Application Metrics in the Dashboard (response time, throughput, memory, load)")
        resources.append(label(dyno[0]))
    if runtime:
        parts.append("per-dyno memory and load in the log stream every 20 s")
        resources.append(label(runtime))
    if parts:
        return Cell("; ".join(parts) + "; nothing scrapes the app's /metrics", tuple(resources),
                    ("dyno_size", "runtime_metrics"))
    return None


def log_shipping(plan: offline_plan.Plan) -> Cell | None:
    agent = _first(plan, DAEMON_SET)
    if agent:
        return Cell("a node log agent ships every pod's logs", (label(agent),))
    drain = _first(plan, DRAIN)
    if drain:
        return Cell("Logplex forwards the logs to `log_drain_url` (syslog+TLS or HTTPS)", (label(drain),),
                    ("log_drain_url",))
    return None


def backups(plan: offline_plan.Plan) -> Cell | None:
    cron, claim = _first(plan, CRON_JOB), _first(plan, PVC)
    if cron and claim:
        spec = _inputs(cron)["spec"]
        container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        if "pg_dump" in " ".join(container.get("command", [])):
            size = _inputs(claim)["spec"]["resources"]["requests"]["storage"]
            return Cell(f"pg_dump on `{spec['schedule']}` ({spec.get('timeZone', 'UTC')}) into a volume of {size}, "
                        f"the newest {env.get('BACKUP_KEEP')} kept; `kubectl_backup_now` output",
                        (label(cron), label(claim)), ("backup_schedule", "backup_keep", "backup_storage_size"))
    addon = _postgres_plan(plan)
    if addon and has_continuous_protection(addon[1]):
        return Cell(f"{addon[1]} has Continuous Protection (physical backups and WAL) and rollback to any point "
                    "in time", (label(addon[0]),), ("postgres_plan",))
    return None


def db_isolation(plan: offline_plan.Plan) -> Cell | None:
    chart = _chart(plan)
    for policy in _all(plan, NETWORK_POLICY):
        spec = _inputs(policy)["spec"]
        if chart and spec["podSelector"]["matchLabels"].get("app.kubernetes.io/instance") == chart[1]["name"]:
            peers = [p["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
                     for rule in spec.get("ingress", []) for p in rule.get("from", [])]
            if peers:
                return Cell(f"a NetworkPolicy admits only the {', '.join(peers)} pods to PostgreSQL",
                            (label(policy),))
    return None


def cost(plan: offline_plan.Plan) -> Cell | None:
    deployment, chart = _first(plan, DEPLOYMENT), _chart(plan)
    if deployment and chart:
        hpa = _first(plan, HPA)
        low, high = ((_inputs(hpa)["spec"]["minReplicas"], _inputs(hpa)["spec"]["maxReplicas"]) if hpa
                     else (_inputs(deployment)["spec"].get("replicas", 1),) * 2)
        web = _web_container(deployment)["resources"]["requests"]
        db = chart[1]["values"]["primary"]["resources"]["requests"]
        claims = [_inputs(c)["spec"]["resources"]["requests"]["storage"] for c in _all(plan, PVC)]
        storage = _mib(chart[1]["values"]["primary"]["persistence"]["size"]) + sum(_mib(c) for c in claims)

        def total(pods: int) -> str:
            return (f"{_cpu(web['cpu']) * pods + _cpu(db['cpu']):g} CPU / "
                    f"{_mib(web['memory']) * pods + _mib(db['memory']):g} MiB")

        pods = f"{low} web pods" if low == high else f"{low} to {high} web pods"
        return Cell(f"your cluster's price for requests of {total(low)}" + (f" (up to {total(high)})" if high > low
                    else "") + f" ({pods} + PostgreSQL) and {storage / 1024:g} GiB of volumes",
                    tuple(label(r) for r in (deployment, hpa, chart[0], *_all(plan, PVC)) if r),
                    ("hpa_max_replicas", "postgres_storage_size", "backup_storage_size"))
    dyno, addon = _dyno(plan), _postgres_plan(plan)
    if dyno and addon and addon[1] in POSTGRES_PLANS:
        _, size, quantity = dyno
        usd = monthly_cost_usd(size, quantity, addon[1])
        return Cell(f"about ${usd:g} a month: {quantity} x {size} + heroku-postgresql:{addon[1]} at list prices "
                    f"of {PRICES_AS_OF}; `monthly_cost_usd` output", (label(dyno[0]), label(addon[0])),
                    ("dyno_size", "dyno_quantity", "postgres_plan"))
    return None


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 ** 2}
    return float(quantity[:-2]) * units[quantity[-2:]] if quantity[-2:] in units else float(quantity) / 2 ** 20


# --- the rows -----------------------------------------------------------------------------------------------------

_NOT_HERE = "this stack creates nothing that provides it"

CAPABILITIES: tuple[Capability, ...] = (
    Capability("HTTPS with automatic certificate", https, {
        "k8s": Gap("no cert-manager Certificate with an Emissary Host serving it", "set `hostname` and `tls_issuer`"),
        "heroku": Gap("no Heroku app", "set `app_name`"),
    }),
    Capability("Custom domain", custom_domain, {
        "k8s": Gap("no Emissary Host and Mapping for a hostname", "set `hostname`"),
        "heroku": Gap("`domain` is empty, so the app serves only its herokuapp.com address",
                      "set `domain` (basic dynos or larger) and point its CNAME at `dns_target`"),
    }),
    Capability("HTTP to HTTPS redirect", https_redirect, {
        "k8s": Gap("the Emissary Host does not redirect insecure requests", "restore its requestPolicy.insecure"),
        "heroku": Gap("Heroku's router serves http:// as well and never redirects, and FORCE_HTTPS is not true",
                      "restore FORCE_HTTPS=true in the app's config vars"),
    }),
    Capability("Managed PostgreSQL", postgres, {
        "k8s": Gap("no PostgreSQL chart", "set `postgres_chart_version`"),
        "heroku": Gap("no heroku-postgresql add-on", "set `postgres_plan`"),
    }),
    Capability("DB credentials as secrets", db_secrets, {
        "k8s": Gap("the pods do not read the password from a secret Secret", "restore the Secret and secretKeyRef"),
        "heroku": Gap("DATABASE_URL is not the add-on's", "remove DATABASE_URL from `config_vars`"),
    }),
    Capability("DB TLS", db_tls, {
        "k8s": Gap("the chart serves PostgreSQL without TLS and `linkerd_inject` is off, so nothing encrypts the "
                   "connection", "set `linkerd_inject: true` (Linkerd with its CNI plugin), or turn on the chart's "
                              "tls values with a cert-manager certificate"),
        "heroku": Gap("PGSSLMODE is not require", "restore PGSSLMODE=require in the app's config vars"),
    }),
    Capability("Data load / release phase", release_phase, {
        "k8s": Gap("no seed Job that the Deployment waits for", "restore the release Job"),
        "heroku": Gap("no build or release with a release phase", "restore app/heroku.yml's release section"),
    }),
    Capability("Zero-downtime deploy", zero_downtime, {
        "k8s": Gap("the Deployment may take pods out before new ones are ready",
                   "rolling update with maxUnavailable 0 and a readiness probe"),
        "heroku": Gap("eco and basic dynos cannot preboot: a deploy stops the old dyno before the new one boots, so "
                      "requests fail for a few seconds", "`dyno_size: standard-1x` or larger; the stack then enables "
                                                          "preboot (`preboot`)"),
    }),
    Capability("Rollback", rollback, {
        "k8s": Gap("the Deployment keeps no earlier ReplicaSets", "set a revisionHistoryLimit above 0"),
        "heroku": Gap("no build or release to roll back to", "deploy with `pulumi up`"),
    }),
    Capability("Horizontal scaling", scaling, {
        "k8s": Gap("no Deployment", _NOT_HERE),
        "heroku": Gap("eco and basic run one web dyno", "`dyno_size: standard-1x` or larger, then `dyno_quantity`"),
    }),
    Capability("Autoscaling", autoscaling, {
        "k8s": Gap("`hpa_enabled` is false", "set `hpa_enabled: true` (needs metrics-server)"),
        "heroku": Gap("Heroku Autoscaling is only for performance (and Private/Shield) web dynos and is switched on "
                      "in the Dashboard: no Platform API or provider resource sets it",
                      "`dyno_size: performance-m` or larger, then Dashboard > Resources > Enable Autoscaling; or "
                      "an autoscaling add-on such as Judoscale"),
    }),
    Capability("Health checks", health_checks, {
        "k8s": Gap("the web container has no liveness and readiness probes", "restore the probes on /healthz, /readyz"),
        "heroku": Gap("the Common Runtime does not probe dynos, so /healthz and /readyz go unused: it restarts only "
                      "crashed dynos and ones that miss the 60 s boot timeout",
                      "an uptime monitor (add-on or external) on /readyz that alerts"),
    }),
    Capability("Graceful shutdown", graceful_shutdown, {
        "k8s": Gap("the pod's grace period is shorter than gunicorn's graceful_timeout",
                   "terminationGracePeriodSeconds above app/gunicorn.conf.py's graceful_timeout"),
        "heroku": Gap(f"gunicorn's graceful_timeout is not under Heroku's {HEROKU_SIGKILL_AFTER_S} s",
                      f"graceful_timeout below {HEROKU_SIGKILL_AFTER_S} in app/gunicorn.conf.py"),
    }),
    Capability("Logs", logs, {
        "k8s": Gap("no Deployment", _NOT_HERE),
        "heroku": Gap("no Heroku app", _NOT_HERE),
    }),
    Capability("Metrics", metrics, {
        "k8s": Gap("the web pods carry no prometheus.io/scrape annotation", "restore the scrape annotations"),
        "heroku": Gap("eco dynos get no Application Metrics, `runtime_metrics` is off, and nothing scrapes the app's "
                      "/metrics on Heroku", "`dyno_size: basic` or larger and `runtime_metrics: true`, or a "
                                            "metrics add-on"),
    }),
    Capability("Log drain / log shipping", log_shipping, {
        "k8s": Gap("log collection is cluster-wide (a node agent per node), outside one app's namespace, so the "
                   "stack ships no agent", "run Fluent Bit, Vector or your cloud's logging agent as a DaemonSet"),
        "heroku": Gap("`log_drain_url` is unset, and Logplex keeps only the last 1,500 lines",
                      "`pulumi config set --secret log_drain_url syslog+tls://...`, or a logging add-on"),
    }),
    Capability("DB backups", backups, {
        "k8s": Gap("`backup_enabled` is false and the chart takes no backups",
                   "set `backup_enabled: true`, or snapshot the database volume (e.g. Velero)"),
        "heroku": Gap("essential plans have no Continuous Protection, and a PGBackups schedule has no Platform API "
                      "endpoint or provider resource for the stack to create",
                      "run the `heroku_backup_schedule` output once (`heroku pg:backups:schedule DATABASE_URL "
                      "--at '03:00 UTC'`), or `postgres_plan: standard-0` or higher"),
    }),
    Capability("Network isolation of the DB", db_isolation, {
        "k8s": Gap("no NetworkPolicy selects the PostgreSQL pods", "restore the database NetworkPolicy"),
        "heroku": Gap("Heroku Postgres on the Common Runtime accepts connections from anywhere on the internet "
                      "(credentials and TLS protect it)", "a Private Space with a private Postgres plan (Heroku "
                                                          "Enterprise), or `heroku pg:credentials:rotate` after "
                                                          "any leak"),
    }),
    Capability("Estimated monthly cost", cost, {
        "k8s": Gap("no Deployment or database to size", _NOT_HERE),
        "heroku": Gap("no web formation or Postgres add-on to price", _NOT_HERE),
    }),
)


# --- the table ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """The rows for the stacks compared, in CAPABILITIES order; each cell a Cell or the row's Gap."""

    stacks: dict[str, str]  # platform -> stack name
    rows: list[tuple[str, dict[str, Cell | Gap]]]


def platform_of(stack: str, overrides: list[str]) -> str:
    _, config, _ = offline_plan.load_config(stack, overrides)
    return config.get("paasport:platform", "")


def table(plans: dict[str, offline_plan.Plan]) -> Table:
    """The capability table of `plans` ({platform: plan})."""
    rows = []
    for capability in CAPABILITIES:
        cells: dict[str, Cell | Gap] = {}
        for platform, plan in plans.items():
            cells[platform] = capability.detect(plan) or capability.gaps[platform]
        rows.append((capability.name, cells))
    return Table(stacks={p: plan.stack for p, plan in plans.items()}, rows=rows)


def run(stacks: list[str], overrides: list[str] | None = None) -> Table:
    """Run each stack offline and tabulate; one stack per platform, in PLATFORMS order."""
    overrides = overrides or []
    by_platform = {platform_of(stack, overrides): stack for stack in stacks}
    if set(by_platform) != set(PLATFORMS) or len(stacks) != len(PLATFORMS):
        raise pulumi.RunError(
            f"--parity compares one stack per platform ({', '.join(PLATFORMS)}); got {', '.join(stacks)} "
            f"with platforms {', '.join(platform_of(s, overrides) or '?' for s in stacks)}.")
    return table({p: offline_plan.run(by_platform[p], overrides) for p in PLATFORMS})


def _cell_text(cell: Cell | Gap, code: Callable[[str], str]) -> str:
    if isinstance(cell, Gap):
        return f"not available on this platform: {cell.reason}; workaround: {cell.workaround}"
    noun = "setting" if len(cell.settings) == 1 else "settings"
    settings = f"; {noun} {', '.join(code(s) for s in cell.settings)}" if cell.settings else ""
    return f"{cell.what} ({', '.join(code(r) for r in cell.resources)}{settings})"


def to_markdown(t: Table) -> str:
    """The README's table: generated, never edited by hand."""
    stacks = " and ".join(f"`Pulumi.{s}.yaml`" for s in t.stacks.values())
    lines = [
        f"Generated by `python -m offline.parity --markdown` from the resources that {stacks} create "
        "(a test keeps this copy current).",
        "",
        "| Capability | " + " | ".join(f"{PLATFORMS[p]} (`{s}`)" for p, s in t.stacks.items()) + " |",
        "| --- |" + " --- |" * len(t.stacks),
    ]
    for name, cells in t.rows:
        texts = [_cell_text(cells[p], lambda s: f"`{s}`").replace("|", "\\|") for p in t.stacks]
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
            out.append(textwrap.fill(_cell_text(cells[p], str), width=width, initial_indent=f"  {heads[p]:<{pad}}",
                                     subsequent_indent=" " * (pad + 2), break_on_hyphens=False))
    return "\n".join(out)


def to_json(t: Table) -> dict[str, Any]:
    """The same table as data: per row and platform, either what provides it or why not and the workaround."""

    def cell(c: Cell | Gap) -> dict[str, Any]:
        if isinstance(c, Gap):
            return {"available": False, "reason": c.reason, "workaround": c.workaround}
        return {"available": True, "what": c.what, "resources": list(c.resources), "settings": list(c.settings)}

    return {"stacks": t.stacks,
            "rows": [{"capability": name, **{p: cell(cells[p]) for p in t.stacks}} for name, cells in t.rows]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", action="append", default=[],
                        help="a stack to compare, one per platform (default: k8s and heroku)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key in every stack (repeatable)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--markdown", action="store_true", help="the table as Markdown (the README's)")
    output.add_argument("--json", action="store_true", help="the table as JSON")
    args = parser.parse_args(argv)
    try:
        table = run(args.stack or list(PLATFORMS), args.config)
    except pulumi.RunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(to_json(table), indent=2))
    else:
        print(to_markdown(table) if args.markdown else to_text(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
