"""The Kubernetes stack's detectors: one per capability row, each a function of the stack's offline plan that
returns the Cell describing what provides the capability, or None (the row's Gap is then shown)."""

from __future__ import annotations

import json
import re
from typing import Any

from pulumi.runtime import rpc

from infra import node_postgres
from infra.k8s import process
from offline import types as t
from offline.parity.cells import (
    Cell,
    Gap,
    Plan,
    Registration,
    Unused,
    all_of,
    app_dir,
    first,
    image_command,
    inputs,
    label,
    shown,
    shutdown,
    spec,
    sslmode_uses_tls,
    stop_by_the_app,
    unused_database,
    unused_metrics,
    unused_move,
    unused_release,
)

ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/"  # the path Emissary always routes (its "ACME hole-puncher")


def _web(plan: Plan) -> Registration | None:
    """The web Deployment (workers' have components of their own)."""
    return next((r for r in all_of(plan, t.DEPLOYMENT) if inputs(r)["spec"]["template"]["metadata"]["labels"].get(
        "app.kubernetes.io/component") == "web"), None)


def _web_hpa(plan: Plan) -> Registration | None:
    """The web Deployment's autoscaler."""
    web = _web(plan)
    return next((r for r in all_of(plan, t.HPA) if web and inputs(r)["spec"]["scaleTargetRef"]["name"] == inputs(
        web)["metadata"]["name"]), None)


def _web_container(deployment: Registration) -> dict[str, Any]:
    return inputs(deployment)["spec"]["template"]["spec"]["containers"][0]


def _chart(plan: Plan) -> tuple[Registration, dict[str, Any]] | None:
    chart = next((r for r in all_of(plan, *t.CHARTS) if inputs(r)["chart"].endswith("/postgresql")), None)
    return (chart, inputs(chart)) if chart else None


def _release(plan: Plan, chart: str) -> Registration | None:
    """The chart release of `chart` (e.g. fluent-bit): the cluster stack's, when the plan holds them
    (`offline.parity.on_cluster`)."""
    return next((r for r in all_of(plan, *t.CHARTS) if inputs(r)["chart"].rstrip("/").rsplit("/", 1)[-1] == chart),
                None)


def _named(plan: Plan, type_: str, name: str) -> Registration | None:
    return next((r for r in all_of(plan, type_) if inputs(r)["metadata"]["name"] == name), None)


def https(plan: Plan) -> Cell | None:
    cert, host = first(plan, t.CERTIFICATE), first(plan, t.HOST)
    if not (cert and host and inputs(host)["spec"]["tlsSecret"]["name"] == inputs(cert)["spec"]["secretName"]):
        return None
    values = inputs(cert)["spec"]
    names, ref = ", ".join(values["dnsNames"]), values["issuerRef"]
    resources = [label(cert), label(host)]
    if ref.get("kind") == "Issuer":
        # The stack's own namespaced ACME Issuer: it must exist in the plan, and its HTTP-01 challenges must reach
        # cert-manager's solver through Emissary (a Mapping of the challenge prefix for the certificate's hostname).
        issuer = _named(plan, t.ISSUER, ref["name"])
        challenge = next((m for m in all_of(plan, t.MAPPING)
                          if inputs(m)["spec"].get("prefix") == ACME_CHALLENGE_PREFIX
                          and inputs(m)["spec"].get("hostname") in values["dnsNames"]), None)
        if issuer is None or challenge is None or "acme" not in inputs(issuer)["spec"]:
            return None
        source = (f"the stack's own ACME Issuer {ref['name']} (HTTP-01 challenges routed by Emissary: "
                  f"Mapping {challenge.name})")
        resources[1:1] = [label(issuer), label(challenge)]
    else:
        created = _named(plan, t.CLUSTER_ISSUER, ref["name"])
        source = f"ClusterIssuer {ref['name']}" if created else f"the cluster's existing ClusterIssuer {ref['name']}"
        resources[1:1] = [label(created)] if created else []
    return Cell(f"cert-manager issues and renews the certificate of {names} from {source}; Emissary terminates "
                "TLS with it", tuple(resources), ("tls_issuer", "acme_email"))


def custom_domain(plan: Plan) -> Cell | None:
    host = first(plan, t.HOST)
    mapping = next((m for m in all_of(plan, t.MAPPING) if inputs(m)["spec"].get("prefix") == "/"), None)
    if host and mapping and inputs(host)["spec"]["hostname"] == inputs(mapping)["spec"]["hostname"]:
        return Cell(f"{inputs(host)['spec']['hostname']}, routed by Emissary to the web Service; point its DNS at "
                    "the ingress", (label(host), label(mapping)), ("hostname",))
    return None


def https_redirect(plan: Plan) -> Cell | None:
    host = first(plan, t.HOST)
    if host and (inputs(host)["spec"].get("requestPolicy") or {}).get("insecure", {}).get("action") == "Redirect":
        return Cell("Emissary answers http:// with a redirect to https:// (Host requestPolicy.insecure)",
                    (label(host),))
    return None


def postgres(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).database:
        return unused_database("the stack then runs the Bitnami PostgreSQL chart in the namespace "
                               "(`postgres_chart_version`)")
    chart = _chart(plan)
    if chart:
        reg, values = chart
        size = values["values"]["primary"]["persistence"]["size"]
        return Cell(f"Bitnami PostgreSQL chart {values['version']} in the namespace, on a volume of {size}; you run "
                    "its upgrades and recovery", (label(reg),), ("postgres_chart_version", "postgres_storage_size"))
    return None


def db_secrets(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).database:
        return unused_database("its generated passwords are then kept in a Secret, which the pods read")
    deployment = _web(plan)
    if deployment:
        env = {e["name"]: e for e in _web_container(deployment)["env"]}
        ref = (env.get("PGPASSWORD", {}).get("valueFrom") or {}).get("secretKeyRef")
        secret = next((r for r in all_of(plan, t.SECRET) if ref and inputs(r)["metadata"]["name"] == ref["name"]),
                      None)
        if secret and rpc.is_rpc_secret(secret.inputs.get("stringData")):
            return Cell("generated passwords, secret in Pulumi's state, stored only in a Secret; pods read "
                        "PGPASSWORD and DATABASE_URL from Secrets by secretKeyRef", (label(secret), label(deployment)))
    return None


def db_tls(plan: Plan) -> Cell | Unused | None:
    """PostgreSQL's own TLS (the chart's `tls` values, the stack's certificate), what the web pods ask for
    (PGSSLMODE: the stack's `prefer`, or the app's own), and Linkerd's mTLS when the namespace is meshed."""
    if not spec(plan).database:
        return unused_database("PostgreSQL then serves TLS with the stack's own certificate")
    chart, deployment, namespace = _chart(plan), _web(plan), first(plan, t.NAMESPACE)
    meshed = namespace and (inputs(namespace)["metadata"].get("annotations") or {}).get("linkerd.io/inject") == \
        "enabled"
    app = spec(plan)
    pods = [*(["release"] if app.release else []), *(["cron"] if app.cron else []), "one-off",
            *(["backup"] if _cron_jobs(plan, "backup") else [])]
    unmeshed = f"{', '.join(pods[:-1])} and {pods[-1]}" if len(pods) > 1 else pods[0]
    mesh = f"; between meshed pods Linkerd's mTLS wraps it as well (the {unmeshed} pods are not meshed)" if meshed \
        else ""
    tls = (chart[1]["values"].get("tls") or {}) if chart else {}
    mode = next((e.get("value") for e in _web_container(deployment)["env"] if e["name"] == "PGSSLMODE"), "") \
        if deployment else ""
    secret = next((r for r in all_of(plan, t.SECRET) if inputs(r)["metadata"]["name"] == tls.get(
        "certificatesSecret")), None)
    package = node_postgres.driver(app)
    if chart and deployment and tls.get("enabled") and secret and package and mode in node_postgres.VERIFYING:
        pods = f"the web pods' PGSSLMODE={mode}"
        return Gap(f"{shown(plan)}/package.json depends on {package}: {node_postgres.fails(package, pods, 'k8s')}",
                   node_postgres.FIX)
    if chart and deployment and tls.get("enabled") and secret and sslmode_uses_tls(mode):
        return Cell(f"PostgreSQL serves TLS with the stack's own certificate (self-signed, in Secret "
                    f"{tls['certificatesSecret']}: clients encrypt without verifying it); the web pods' PGSSLMODE is "
                    f"{mode}, which uses it{mesh}", (label(chart[0]), label(secret), label(deployment),
                                                    *([label(namespace)] if meshed else [])),
                    ("linkerd_inject",) if meshed else ())
    if meshed:
        return Cell(f"Linkerd's mTLS between the meshed pods and PostgreSQL (the {unmeshed} pods are not meshed, and "
                    "connect without TLS)", (label(namespace),), ("linkerd_inject",))
    return None


def release_phase(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).release:
        return unused_release()
    deployment = _web(plan)
    job = next((r for r in all_of(plan, t.JOB) if (inputs(r)["metadata"].get("labels") or {}).get(
        "app.kubernetes.io/component") == "release"), None)
    if job and deployment and job.urn in deployment.dependencies:
        container = inputs(job)["spec"]["template"]["spec"]["containers"][0]
        argv = [*container.get("command", []), *container.get("args", [])]
        command = argv[2] if argv[:2] == ["/bin/sh", "-c"] and len(argv) == 3 else " ".join(argv)
        return Cell(f"a Job per image runs `{command}`; the Deployment rolls only after it succeeds",
                    (label(job), label(deployment)), ("app_dir",))
    return None


def zero_downtime(plan: Plan) -> Cell | None:
    deployment = _web(plan)
    if deployment:
        values = inputs(deployment)["spec"]
        rolling = values.get("strategy", {}).get("rollingUpdate", {})
        if rolling.get("maxUnavailable") == 0 and "readinessProbe" in _web_container(deployment):
            return Cell(f"rolling update, maxUnavailable 0, maxSurge {rolling.get('maxSurge')}: new pods take traffic "
                        "once ready, old ones stop after", (label(deployment),))
    return None


def rollback(plan: Plan) -> Cell | None:
    deployment = _web(plan)
    if deployment and inputs(deployment)["spec"].get("revisionHistoryLimit", 10) > 0:
        kept = inputs(deployment)["spec"].get("revisionHistoryLimit", 10)
        return Cell(f"`kubectl_rollback` output (rollout undo, {kept} ReplicaSets kept); durable: `image` set to the "
                    "previous digest", (label(deployment),), ("image",))
    return None


def scaling(plan: Plan) -> Cell | None:
    deployment, hpa = _web(plan), _web_hpa(plan)
    if deployment and hpa:
        values = inputs(hpa)["spec"]
        return Cell(f"{values['minReplicas']} to {values['maxReplicas']} pods, spread over nodes and zones",
                    (label(hpa), label(deployment)), ("hpa_min_replicas", "hpa_max_replicas"))
    if deployment and "replicas" in inputs(deployment)["spec"]:
        return Cell(f"{inputs(deployment)['spec']['replicas']} pods, spread over nodes and zones",
                    (label(deployment),), ("replicas",))
    return None


def autoscaling(plan: Plan) -> Cell | None:
    hpa = _web_hpa(plan)
    if hpa:
        values = inputs(hpa)["spec"]
        cpu = values["metrics"][0]["resource"]["target"]["averageUtilization"]
        return Cell(f"on CPU: {values['minReplicas']} to {values['maxReplicas']} pods at {cpu}% of requests "
                    "(needs metrics-server)", (label(hpa),), ("hpa_enabled", "hpa_cpu_percent"))
    return None


def health_checks(plan: Plan) -> Cell | None:
    """The web pods' probes as app.json gives them (an HTTP path each, else a TCP connect), or the TCP readiness and
    liveness checks of a web that app.json gives none."""
    deployment = _web(plan)
    if deployment is None:
        return None
    container = _web_container(deployment)
    probes = {kind: container[f"{kind}Probe"] for kind in ("startup", "liveness", "readiness")
              if f"{kind}Probe" in container}
    if not probes:
        return None
    paths = {kind: probe["httpGet"]["path"] if "httpGet" in probe else "" for kind, probe in probes.items()}
    effects = [*(["a pod that fails liveness restarts"] if "liveness" in probes else []),
               *(["a pod that fails readiness leaves the Service until it passes"] if "readiness" in probes else [])]
    if "liveness" not in probes:
        effects.append("no liveness probe (no app.json liveness check for web), so a stuck pod is never restarted")
    if not all(paths.values()):
        effects.append("a TCP connect sees only that the server accepts connections, not that the app answers: give "
                       "app.json `healthchecks.web` a `path` for that")
    elif "liveness" in probes:
        effects[-1] += " (the app decides what its paths check)"
    described = ", ".join(f"{kind} probe {path or 'TCP connect to PORT'}" for kind, path in paths.items())
    return Cell(f"{described}: {'; '.join(effects)}", (label(deployment),), ("app_dir",))


def hardening(plan: Plan) -> Cell | None:
    """The app containers' hardening, and what the app's contract relaxed (paasport.read_only_root, writable_paths,
    a Dockerfile USER below 10000)."""
    deployment = _web(plan)
    if deployment is None:
        return None
    container = _web_container(deployment)
    context = container.get("securityContext", {})
    pod = inputs(deployment)["spec"]["template"]["spec"]
    uid = context.get("runAsUser", pod.get("securityContext", {}).get("runAsUser"))
    gid = context.get("runAsGroup", pod.get("securityContext", {}).get("runAsGroup"))
    user = spec(plan).user
    kept = process.run_as(spec(plan)).kept
    ids = f"UID {uid} and " + (f"GID {gid}" if gid is not None else "the image's group for it")
    who = (f"{ids}, the Dockerfile's USER {user}" if kept else
           f"{ids}, the stack's, as the Dockerfile's USER {user} is not a non-root number" if user else
           f"{ids}, the stack's, as the Dockerfile sets no USER")
    relaxed = [] if context.get("readOnlyRootFilesystem") else [
        "RELAXED: the root filesystem is writable (app.json paasport.read_only_root: false; Checkov CKV_K8S_22)"]
    if uid is not None and uid < process.HIGH_UID:
        relaxed.append(f"RELAXED: UID {uid} is below {process.HIGH_UID}, where it may be a user of the node's own "
                       "(Checkov CKV_K8S_40)")
    writable = [m["mountPath"] for m in container.get("volumeMounts", [])]
    filled = {m["name"] for c in pod.get("initContainers", []) for m in c.get("volumeMounts", [])}
    copied = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in filled]
    where = ", ".join(writable) + (f"; {', '.join(copied)} starting with the image's files there (an init container "
                                   "copies them in: a dyno's filesystem is the image's)" if copied else "")
    if not context.get("readOnlyRootFilesystem"):
        where += ", and the whole root filesystem, the image's files included"
    return Cell(f"non-root ({who}), no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no "
                f"service-account token; writable: {where}" + "".join(f"; {r}" for r in relaxed),
                (label(deployment),), ("app_dir",))


def graceful_shutdown(plan: Plan) -> Cell | Gap | None:
    """What the kubelet does at a pod's stop (the preStop sleep, SIGTERM to the container's first process, SIGKILL
    at the end of the grace period), and what of it reaches the app's server: read from its file when paasport knows
    the server, stated as the app's to do when it does not, and a gap when a package manager is the first process."""
    deployment = _web(plan)
    if deployment is None:
        return None
    container = _web_container(deployment)
    pod = inputs(deployment)["spec"]["template"]["spec"]
    grace = pod.get("terminationGracePeriodSeconds", 30)
    sleep = ((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)
    left = grace - sleep
    platform = (f"a stopping pod leaves the Service; after its {sleep} s preStop sleep SIGTERM reaches the "
                f"container's first process, and SIGKILL comes {grace} s after the stop began") if sleep else (
        f"SIGTERM to the container's first process, SIGKILL {grace} s later")
    app = spec(plan)
    start = process.package_manager_start(app, app.web)
    if start:
        return Gap(f"the web command `{app.web.command}` makes {start.tool} the container's first process, which "
                   f"alone gets SIGTERM: {process.stop_problem(start)}",
                   f"`web: {start.runs or '<the script command of package.json>'}` in the Procfile, with a SIGTERM "
                   "handler that stops accepting and finishes the requests in flight")
    directory = app_dir(plan)
    stop = shutdown([*container.get("command", []), *container.get("args", [])] or image_command(directory), directory,
                    shown(plan))
    if stop is None:
        return Cell(f"{platform}: {stop_by_the_app(left)}", (label(deployment),))
    if stop.seconds < left:
        return Cell(f"{platform}; {stop.server} stops accepting and finishes requests within {stop.seconds} s "
                    f"({stop.source})", (label(deployment),))
    return Gap(f"{stop.server} finishes requests within {stop.seconds} s ({stop.source}), but SIGKILL comes {left} s "
               "after SIGTERM", f"a graceful timeout under {left} s in {stop.source}")


def logs(plan: Plan) -> Cell | None:
    deployment = _web(plan)
    if deployment:
        return Cell("each container's stdout and stderr, kept by the kubelet while the pod lives (the app must log "
                    "there, in a format of its own: LOG_LEVEL is set from `log_level`); `kubectl_logs` output",
                    (label(deployment),), ("log_level",))
    return None


def metrics(plan: Plan) -> Cell | Unused | None:
    """The app's metrics path scraped through pod annotations; the cluster stack's Prometheus and Grafana (whose
    dashboard charts metric names of its own, which an app exports or not)."""
    deployment = _web(plan)
    annotations = (inputs(deployment)["spec"]["template"]["metadata"].get("annotations") or {}) if deployment else {}
    prometheus, grafana = _release(plan, "prometheus"), _release(plan, "grafana")
    namespace = first(plan, t.NAMESPACE)
    meshed = namespace and (inputs(namespace)["metadata"].get("annotations") or {}).get("linkerd.io/inject") == \
        "enabled"
    if not spec(plan).metrics_path:
        return unused_metrics("; the cluster stack's Prometheus still scrapes the Linkerd proxy of each meshed pod "
                              "(requests, latency, success rate)" if prometheus and meshed else "")
    if annotations.get("prometheus.io/scrape") != "true":
        return None
    chart = _chart(plan)
    exporter = chart and chart[1]["values"].get("metrics", {}).get("enabled")
    charted = _dashboard_metrics(grafana) if prometheus and grafana else []
    what = (f"the app's {annotations.get('prometheus.io/path')} (app.json paasport.metrics_path), scraped through "
            "prometheus.io/* pod annotations")
    if chart:
        what += "; PostgreSQL exporter" if exporter else "; PostgreSQL exporter off"
    if prometheus:
        what += "; the cluster stack's Prometheus scrapes them" + (" and the Linkerd proxies" if meshed else "")
    if charted:
        what += (f", and its Grafana's dashboard charts {', '.join(charted)}, which the app must export under "
                 "those names")
    return Cell(what, (label(deployment), *([label(chart[0])] if exporter else []),
                       *([label(prometheus)] if prometheus else []), *([label(grafana)] if charted else [])),
                (*(["postgres_metrics"] if chart else []), *(["metrics_enabled"] if prometheus else [])))


def _dashboard_metrics(grafana: Registration) -> list[str]:
    """The metric names the Grafana release's dashboards chart (their queries' series, without the histogram's
    _bucket, _sum and _count)."""
    names: set[str] = set()
    for provider in (inputs(grafana)["values"].get("dashboards") or {}).values():
        for board in provider.values():
            for expr in re.findall(r'"expr": "((?:[^"\\]|\\.)*)"', json.dumps(json.loads(board.get("json", "{}")))):
                names |= {re.sub(r"_(bucket|sum|count)$", "", n) for n in re.findall(r"([a-z_][a-z0-9_]*)\{", expr)}
    return sorted(names)


def log_shipping(plan: Plan) -> Cell | None:
    shipper, store, ui = (_release(plan, c) for c in ("fluent-bit", "opensearch", "opensearch-dashboards"))
    if shipper and store and ui:
        return Cell("the cluster stack's Fluent Bit on every node ships each pod's lines to OpenSearch (a line that is "
                    "a JSON object becomes fields, any other stays text), searched in OpenSearch Dashboards",
                    (label(shipper), label(store), label(ui)), ("logs_enabled", "logs_storage_size"))
    return None


def _cron_jobs(plan: Plan, component: str) -> list[Registration]:
    return [c for c in all_of(plan, t.CRON_JOB)
            if inputs(c)["metadata"]["labels"].get("app.kubernetes.io/component") == component]


def scheduled_jobs(plan: Plan) -> Cell | Unused | None:
    """The app.json cron tasks the stack runs, and when."""
    if not spec(plan).cron:
        return Unused("the app has no scheduled tasks (no `cron` in an app.json)",
                      'add Dokku\'s `"cron": [{"command": "...", "schedule": "0 3 * * *"}]` to app.json (UTC): a '
                      "CronJob then runs each")
    jobs = _cron_jobs(plan, "cron")
    if not jobs:
        return None
    when = ", ".join(f"`{inputs(job)['spec']['schedule']}`" for job in jobs)
    return Cell(f"a CronJob per app.json `cron` task ({when}, Etc/UTC; `forbid` unless the task says otherwise), in "
                "the app's image with its env, Secrets and hardened pod, as a one-off process (DYNO=scheduler.*)",
                tuple(label(job) for job in jobs), ("app_dir",))


def one_off(plan: Plan) -> Cell | None:
    deployment = _web(plan)
    if deployment and "kubectl_run" in plan.outputs:
        return Cell("`kubectl_run` output: `kubectl run --rm -it` of a pod made like the web pod (the same image, env, "
                    "hardening and writable volumes; DYNO=run.*), attached and deleted at the end; `sh`, or any "
                    "command after `--`", (label(deployment),))
    return None


def backups(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).database:
        return unused_database("the stack then dumps it on `backup_schedule` into a volume of its own "
                               "(`backup_enabled`)")
    cron, claim = next(iter(_cron_jobs(plan, "backup")), None), first(plan, t.PVC)
    if cron and claim:
        values = inputs(cron)["spec"]
        container = values["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        if "pg_dump" in " ".join(container.get("command", [])):
            size = inputs(claim)["spec"]["resources"]["requests"]["storage"]
            return Cell(f"pg_dump on `{values['schedule']}` ({values.get('timeZone', 'UTC')}) into a volume of "
                        f"{size}, the newest {env.get('BACKUP_KEEP')} kept; `kubectl_backup_now` output",
                        (label(cron), label(claim)), ("backup_schedule", "backup_keep", "backup_storage_size"))
    return None


def move(plan: Plan) -> Cell | Unused | None:
    """`make move` finds the database by the stack's outputs (move/stacks.py) and stops the app's workloads."""
    if not spec(plan).database:
        return unused_move()
    chart, deployment = _chart(plan), _web(plan)
    if chart and deployment and {"namespace", "db_host", "db_user", "db_name", "db_password"} <= plan.outputs.keys():
        return Cell(f"`make move ARGS=\"--from {plan.stack} --to <heroku stack>\"`: the chart's database through "
                    "`kubectl port-forward`, with the app user's credentials from the stack's outputs; the namespace's "
                    "Deployments at 0 and its CronJobs suspended while writes stop, and the database refusing them; "
                    "`--online` stops writes for seconds", (label(chart[0]), label(deployment)))
    return None


def db_isolation(plan: Plan) -> Cell | Unused | None:
    if not spec(plan).database:
        return unused_database("a NetworkPolicy then admits only its pods to PostgreSQL")
    chart = _chart(plan)
    for policy in all_of(plan, t.NETWORK_POLICY):
        values = inputs(policy)["spec"]
        if chart and values["podSelector"]["matchLabels"].get("app.kubernetes.io/instance") == chart[1]["name"]:
            peers = [p["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
                     for rule in values.get("ingress", []) for p in rule.get("from", [])]
            if peers:
                return Cell(f"a NetworkPolicy admits to PostgreSQL only the pods of these app.kubernetes.io/component "
                            f"labels: {', '.join(peers)}",
                            (label(policy),))
    return None


def cost(plan: Plan) -> Cell | None:
    """The requests of every process's pods (web at its replicas or autoscaler's range, each worker at its
    quantity) and of PostgreSQL, and the volumes; the release, cron and one-off pods run now and then, uncounted."""
    deployment, chart = _web(plan), _chart(plan)
    if deployment is None or (spec(plan).database and chart is None):
        return None
    hpas = {inputs(h)["spec"]["scaleTargetRef"]["name"]: h for h in all_of(plan, t.HPA)}
    low = high = (0.0, 0.0)
    parts, resources = [], []
    for workload in all_of(plan, t.DEPLOYMENT):
        values = inputs(workload)
        hpa = hpas.get(values["metadata"]["name"])
        fewest, most = ((inputs(hpa)["spec"]["minReplicas"], inputs(hpa)["spec"]["maxReplicas"]) if hpa
                        else (values["spec"].get("replicas", 1),) * 2)
        requests = [c["resources"]["requests"] for c in values["spec"]["template"]["spec"]["containers"]]
        each = (sum(_cpu(r["cpu"]) for r in requests), sum(_mib(r["memory"]) for r in requests))
        low = (low[0] + each[0] * fewest, low[1] + each[1] * fewest)
        high = (high[0] + each[0] * most, high[1] + each[1] * most)
        kind = values["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"].removeprefix("worker-")
        parts.append(f"{fewest} {kind} pod{'' if fewest == most == 1 else 's'}" if fewest == most
                     else f"{fewest} to {most} {kind} pods")
        resources += [label(workload), *([label(hpa)] if hpa else [])]
    storage = 0.0
    if chart:
        db = chart[1]["values"]["primary"]["resources"]["requests"]
        low = (low[0] + _cpu(db["cpu"]), low[1] + _mib(db["memory"]))
        high = (high[0] + _cpu(db["cpu"]), high[1] + _mib(db["memory"]))
        storage += _mib(chart[1]["values"]["primary"]["persistence"]["size"])
        parts.append("PostgreSQL")
        resources.append(label(chart[0]))
    claims = all_of(plan, t.PVC)
    storage += sum(_mib(inputs(c)["spec"]["resources"]["requests"]["storage"]) for c in claims)
    resources += [label(c) for c in claims]

    def total(at: tuple[float, float]) -> str:
        return f"{at[0]:g} CPU / {at[1]:g} MiB"

    volumes = f" and {storage / 1024:g} GiB of volumes" if storage else ", no volumes"
    return Cell(f"your cluster's price for requests of {total(low)}" + (f" (up to {total(high)})" if high != low
                else "") + f" ({' + '.join(parts)}){volumes}", tuple(resources),
                (*(("hpa_min_replicas", "hpa_max_replicas") if _web_hpa(plan) else ("replicas",)),
                 *(("postgres_storage_size", "backup_storage_size") if chart else ())))


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 ** 2}
    return float(quantity[:-2]) * units[quantity[-2:]] if quantity[-2:] in units else float(quantity) / 2 ** 20
