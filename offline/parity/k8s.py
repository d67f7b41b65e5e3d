"""The Kubernetes stack's detectors: one per capability row, each a function of the stack's offline plan that
returns the Cell describing what provides the capability, or None (the row's Gap is then shown)."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

from offline import types as t
from offline.parity.cells import (
    Cell,
    Plan,
    Registration,
    all_of,
    app_dir,
    first,
    image_command,
    inputs,
    label,
    shutdown,
)

ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/"  # the path Emissary always routes (its "ACME hole-puncher")


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
    spec = inputs(cert)["spec"]
    names, ref = ", ".join(spec["dnsNames"]), spec["issuerRef"]
    resources = [label(cert), label(host)]
    if ref.get("kind") == "Issuer":
        # The stack's own namespaced ACME Issuer: it must exist in the plan, and its HTTP-01 challenges must reach
        # cert-manager's solver through Emissary (a Mapping of the challenge prefix for the certificate's hostname).
        issuer = _named(plan, t.ISSUER, ref["name"])
        challenge = next((m for m in all_of(plan, t.MAPPING)
                          if inputs(m)["spec"].get("prefix") == ACME_CHALLENGE_PREFIX
                          and inputs(m)["spec"].get("hostname") in spec["dnsNames"]), None)
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


def postgres(plan: Plan) -> Cell | None:
    chart = _chart(plan)
    if chart:
        reg, spec = chart
        size = spec["values"]["primary"]["persistence"]["size"]
        return Cell(f"Bitnami PostgreSQL chart {spec['version']} in the namespace, on a volume of {size}; you run its "
                    "upgrades and recovery", (label(reg),), ("postgres_chart_version", "postgres_storage_size"))
    return None


def db_secrets(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
    if deployment:
        env = {e["name"]: e for e in _web_container(deployment)["env"]}
        ref = (env.get("PGPASSWORD", {}).get("valueFrom") or {}).get("secretKeyRef")
        secret = next((r for r in all_of(plan, t.SECRET) if ref and inputs(r)["metadata"]["name"] == ref["name"]),
                      None)
        if secret and rpc.is_rpc_secret(secret.inputs.get("stringData")):
            return Cell("generated passwords, secret in Pulumi's state, stored only in a Secret; pods read "
                        "PGPASSWORD from it by secretKeyRef", (label(secret), label(deployment)))
    return None


def db_tls(plan: Plan) -> Cell | None:
    namespace = first(plan, t.NAMESPACE)
    if namespace and (inputs(namespace)["metadata"].get("annotations") or {}).get("linkerd.io/inject") == "enabled":
        return Cell("Linkerd mTLS between the meshed web pods and PostgreSQL (the release and backup Jobs opt out of "
                    "the mesh)", (label(namespace),), ("linkerd_inject",))
    return None


def release_phase(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
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
    deployment = first(plan, t.DEPLOYMENT)
    if deployment:
        spec = inputs(deployment)["spec"]
        rolling = spec.get("strategy", {}).get("rollingUpdate", {})
        if rolling.get("maxUnavailable") == 0 and "readinessProbe" in _web_container(deployment):
            return Cell(f"rolling update, maxUnavailable 0, maxSurge {rolling.get('maxSurge')}: new pods take traffic "
                        "once ready, old ones stop after", (label(deployment),))
    return None


def rollback(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
    if deployment and inputs(deployment)["spec"].get("revisionHistoryLimit", 10) > 0:
        kept = inputs(deployment)["spec"].get("revisionHistoryLimit", 10)
        return Cell(f"`kubectl_rollback` output (rollout undo, {kept} ReplicaSets kept); durable: `image` set to the "
                    "previous digest", (label(deployment),), ("image",))
    return None


def scaling(plan: Plan) -> Cell | None:
    deployment, hpa = first(plan, t.DEPLOYMENT), first(plan, t.HPA)
    if deployment and hpa:
        spec = inputs(hpa)["spec"]
        return Cell(f"{spec['minReplicas']} to {spec['maxReplicas']} pods, spread over nodes and zones",
                    (label(hpa), label(deployment)), ("hpa_min_replicas", "hpa_max_replicas"))
    if deployment and "replicas" in inputs(deployment)["spec"]:
        return Cell(f"{inputs(deployment)['spec']['replicas']} pods, spread over nodes and zones",
                    (label(deployment),), ("replicas",))
    return None


def autoscaling(plan: Plan) -> Cell | None:
    hpa = first(plan, t.HPA)
    if hpa:
        spec = inputs(hpa)["spec"]
        cpu = spec["metrics"][0]["resource"]["target"]["averageUtilization"]
        return Cell(f"on CPU: {spec['minReplicas']} to {spec['maxReplicas']} pods at {cpu}% of requests "
                    "(needs metrics-server)", (label(hpa),), ("hpa_enabled", "hpa_cpu_percent"))
    return None


def health_checks(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
    if deployment:
        container = _web_container(deployment)
        probes = {kind: container[f"{kind}Probe"].get("httpGet", {}).get("path", "(TCP connect)")
                  for kind in ("startup", "liveness", "readiness") if f"{kind}Probe" in container}
        if probes.keys() >= {"liveness", "readiness"}:
            return Cell(", ".join(f"{kind} probe {path}" for kind, path in probes.items())
                        + ": a stuck pod restarts, a pod without its database leaves the Service", (label(deployment),))
    return None


def hardening(plan: Plan) -> Cell | None:
    """The app containers' hardening, and what the app's contract relaxed (paasport.read_only_root, writable_paths)."""
    deployment = first(plan, t.DEPLOYMENT)
    if deployment is None:
        return None
    container = _web_container(deployment)
    context = container.get("securityContext", {})
    relaxed = [] if context.get("readOnlyRootFilesystem") else [
        "RELAXED: the root filesystem is writable (app.json paasport.read_only_root: false; Checkov CKV_K8S_22)"]
    writable = [m["mountPath"] for m in container.get("volumeMounts", [])]
    pod = inputs(deployment)["spec"]["template"]["spec"]
    filled = {m["name"] for c in pod.get("initContainers", []) for m in c.get("volumeMounts", [])}
    copied = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in filled]
    where = ", ".join(writable) + (f"; {', '.join(copied)} starting with the image's files there (an init container "
                                   "copies them in: a dyno's filesystem is the image's)" if copied else "")
    if relaxed:
        where += ", and the whole root filesystem, the image's files included"
    return Cell("non-root UID, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no "
                f"service-account token; writable: {where}" + "".join(f"; {r}" for r in relaxed),
                (label(deployment),), ("app_dir",))


def graceful_shutdown(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
    if deployment is None:
        return None
    container = _web_container(deployment)
    directory = app_dir(plan)
    stop = shutdown([*container.get("command", []), *container.get("args", [])] or image_command(directory), directory)
    grace = inputs(deployment)["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
    if stop and stop.seconds < grace:
        return Cell(f"SIGTERM, SIGKILL {grace} s later; {stop.server} stops accepting and finishes requests within "
                    f"{stop.seconds} s ({stop.source})", (label(deployment),))
    return None


def logs(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
    if deployment:
        return Cell("JSON lines on stdout, kept by the kubelet; `kubectl_logs` output", (label(deployment),),
                    ("log_level",))
    return None


def metrics(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
    annotations = (inputs(deployment)["spec"]["template"]["metadata"].get("annotations") or {}) if deployment else {}
    if annotations.get("prometheus.io/scrape") == "true":
        chart = _chart(plan)
        exporter = chart and chart[1]["values"].get("metrics", {}).get("enabled")
        prometheus, grafana = _release(plan, "prometheus"), _release(plan, "grafana")
        shown = prometheus and grafana and "paasport-app" in str(inputs(grafana)["values"].get("dashboards"))
        return Cell(f"the app's {annotations.get('prometheus.io/path', '/metrics')} (app.json paasport.metrics_path), "
                    "scraped through prometheus.io/* pod annotations"
                    + ("; PostgreSQL exporter" if exporter else "; PostgreSQL exporter off")
                    + ("; the cluster stack's Prometheus scrapes them and the Linkerd proxies, and its Grafana shows "
                       "the app's dashboard" if shown else ""),
                    (label(deployment), *([label(chart[0])] if exporter else []),
                     *([label(prometheus), label(grafana)] if shown else [])),
                    ("postgres_metrics", *(["metrics_enabled"] if shown else [])))
    return None


def log_shipping(plan: Plan) -> Cell | None:
    agent = first(plan, t.DAEMON_SET)
    if agent:
        return Cell("a node log agent ships every pod's logs", (label(agent),))
    shipper, store, ui = (_release(plan, c) for c in ("fluent-bit", "opensearch", "opensearch-dashboards"))
    if shipper and store and ui:
        return Cell("the cluster stack's Fluent Bit on every node reads each pod's JSON lines into fields and ships "
                    "them to OpenSearch, searched in OpenSearch Dashboards", (label(shipper), label(store), label(ui)),
                    ("logs_enabled", "logs_storage_size"))
    return None


def _cron_jobs(plan: Plan, component: str) -> list[Registration]:
    return [c for c in all_of(plan, t.CRON_JOB)
            if inputs(c)["metadata"]["labels"].get("app.kubernetes.io/component") == component]


def scheduled_jobs(plan: Plan) -> Cell | None:
    """The app.json cron tasks the stack runs, and when."""
    jobs = _cron_jobs(plan, "cron")
    if not jobs:
        return None
    when = ", ".join(f"`{inputs(job)['spec']['schedule']}`" for job in jobs)
    return Cell(f"a CronJob per app.json `cron` task ({when}, Etc/UTC; `forbid` unless the task says otherwise), in "
                "the app's image with its env, Secrets and hardened pod, as a one-off process (DYNO=scheduler.*)",
                tuple(label(job) for job in jobs), ("app_dir",))


def one_off(plan: Plan) -> Cell | None:
    deployment = first(plan, t.DEPLOYMENT)
    if deployment and "kubectl_run" in plan.outputs:
        return Cell("`kubectl_run` output: `kubectl run --rm -it` of a pod made like the web pod (image, env, Secrets, "
                    "hardening, writable volumes; DYNO=run.*), attached and deleted at the end; `sh`, or any command "
                    "after `--`", (label(deployment),))
    return None


def backups(plan: Plan) -> Cell | None:
    cron, claim = next(iter(_cron_jobs(plan, "backup")), None), first(plan, t.PVC)
    if cron and claim:
        spec = inputs(cron)["spec"]
        container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        if "pg_dump" in " ".join(container.get("command", [])):
            size = inputs(claim)["spec"]["resources"]["requests"]["storage"]
            return Cell(f"pg_dump on `{spec['schedule']}` ({spec.get('timeZone', 'UTC')}) into a volume of {size}, "
                        f"the newest {env.get('BACKUP_KEEP')} kept; `kubectl_backup_now` output",
                        (label(cron), label(claim)), ("backup_schedule", "backup_keep", "backup_storage_size"))
    return None


def move(plan: Plan) -> Cell | None:
    """`make move` finds the database by the stack's outputs (move/stacks.py) and stops the app's workloads."""
    chart, deployment = _chart(plan), first(plan, t.DEPLOYMENT)
    if chart and deployment and {"namespace", "db_host", "db_user", "db_name", "db_password"} <= plan.outputs.keys():
        return Cell(f"`make move ARGS=\"--from {plan.stack} --to <heroku stack>\"`: the chart's database through "
                    "`kubectl port-forward`, with the app user's credentials from the stack's outputs; the namespace's "
                    "Deployments at 0 and its CronJobs suspended while writes stop, and the database refusing them; "
                    "`--online` stops writes for seconds", (label(chart[0]), label(deployment)))
    return None


def db_isolation(plan: Plan) -> Cell | None:
    chart = _chart(plan)
    for policy in all_of(plan, t.NETWORK_POLICY):
        spec = inputs(policy)["spec"]
        if chart and spec["podSelector"]["matchLabels"].get("app.kubernetes.io/instance") == chart[1]["name"]:
            peers = [p["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
                     for rule in spec.get("ingress", []) for p in rule.get("from", [])]
            if peers:
                return Cell(f"a NetworkPolicy admits only the {', '.join(peers)} pods to PostgreSQL",
                            (label(policy),))
    return None


def cost(plan: Plan) -> Cell | None:
    deployment, chart = first(plan, t.DEPLOYMENT), _chart(plan)
    if not (deployment and chart):
        return None
    hpa = first(plan, t.HPA)
    low, high = ((inputs(hpa)["spec"]["minReplicas"], inputs(hpa)["spec"]["maxReplicas"]) if hpa
                 else (inputs(deployment)["spec"].get("replicas", 1),) * 2)
    web = _web_container(deployment)["resources"]["requests"]
    db = chart[1]["values"]["primary"]["resources"]["requests"]
    claims = [inputs(c)["spec"]["resources"]["requests"]["storage"] for c in all_of(plan, t.PVC)]
    storage = _mib(chart[1]["values"]["primary"]["persistence"]["size"]) + sum(_mib(c) for c in claims)

    def total(pods: int) -> str:
        return (f"{_cpu(web['cpu']) * pods + _cpu(db['cpu']):g} CPU / "
                f"{_mib(web['memory']) * pods + _mib(db['memory']):g} MiB")

    pods = f"{low} web pods" if low == high else f"{low} to {high} web pods"
    return Cell(f"your cluster's price for requests of {total(low)}" + (f" (up to {total(high)})" if high > low
                else "") + f" ({pods} + PostgreSQL) and {storage / 1024:g} GiB of volumes",
                tuple(label(r) for r in (deployment, hpa, chart[0], *all_of(plan, t.PVC)) if r),
                ("hpa_max_replicas", "postgres_storage_size", "backup_storage_size"))


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 ** 2}
    return float(quantity[:-2]) * units[quantity[-2:]] if quantity[-2:] in units else float(quantity) / 2 ** 20
