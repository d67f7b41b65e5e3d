"""The cluster stack's metrics and logs, judged by real tools: the charts rendered by the real, pinned helm with the
stack's very values; the Prometheus configuration by Prometheus' own `promtool` and server; the dashboard's queries
by `promtool` and a PromQL parser against the metrics a running app really exports; the log collector by the real
fluent-bit binary, where one is at hand.

Each check is a function that returns the problems it finds: the tests assert none on the real render, and feed
each check a broken copy to show that it catches the defect.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import shutil
import subprocess
import time
from functools import cache
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import promql_parser
import pytest
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from prometheus_client.parser import text_string_to_metric_families

from devenv.postgres import free_port
from infra.cluster import logs, metrics
from offline import cluster, pod_security
from offline import plan as offline_plan
from offline import types as t
from tests.support import APP_SERVER, clean_env, serving

STACK = "paasport"  # the project's name: the cluster stack names its releases <project>-<chart>
PROMETHEUS, GRAFANA = f"{STACK}-{metrics.PROMETHEUS_CHART}", f"{STACK}-{metrics.GRAFANA_CHART}"
FLUENT_BIT, OPENSEARCH = f"{STACK}-{logs.FLUENT_BIT_CHART}", f"{STACK}-{logs.OPENSEARCH_CHART}"
DASHBOARDS = f"{STACK}-{logs.DASHBOARDS_CHART}"
PROMTOOL_BIN, PROMETHEUS_BIN, FLUENT_BIT_BIN = (shutil.which(tool) for tool in ("promtool", "prometheus", "fluent-bit"))
_NEEDS_PROMETHEUS = "needs Debian's `prometheus` package (promtool and the server): apt-get install prometheus"
# Where the pod of the checks runs: an address in the documentation range (RFC 5737), never contacted.
POD_IP, POD_NAME, NODE = "192.0.2.17", "paasport-web-5d8f9c7b6-x2x4q", "node-1"
Obj = dict[str, Any]


pytestmark = pytest.mark.usefixtures("shared_charts")


# --- the stacks' plans and the charts' renders ---------------------------------------------------------------


@cache
def cluster_plan(*overrides: str) -> offline_plan.Plan:
    return offline_plan.run("cluster", list(overrides))


@cache
def k8s_plan(*overrides: str) -> offline_plan.Plan:
    return offline_plan.run("k8s", list(overrides))


def rendered(release: str, *overrides: str) -> list[Obj]:
    """The objects the real helm renders for `release` of the cluster stack, with the stack's values (a copy), each
    with the namespace it lands in (a chart's object without one lands in the release's)."""
    objects = [{**r.obj, "metadata": {**r.obj["metadata"], "namespace": r.namespace}}
               for r in cluster.objects(cluster_plan(*overrides)) if r.release == release]
    assert objects, f"the cluster stack renders no release {release}"
    return objects


def the(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def web_pod(*overrides: str) -> tuple[Obj, Obj, str]:
    """The k8s stack's web pod template (metadata, spec) and namespace, from its offline plan."""
    (deployment,) = k8s_plan(*overrides).find(t.DEPLOYMENT)
    obj = offline_plan.reveal(deployment.inputs)
    return obj["spec"]["template"]["metadata"], obj["spec"]["template"]["spec"], obj["metadata"]["namespace"]


# --- Prometheus: its configuration as the pod loads it ---------------------------------------------------------


def prometheus_files(objects: list[Obj]) -> tuple[dict[str, str], str]:
    """({path in the pod: content}, the --config.file path): the ConfigMaps the server container mounts."""
    spec = the(objects, "Deployment")["spec"]["template"]["spec"]
    (server,) = [c for c in spec["containers"] if any(a.startswith("--config.file=") for a in c.get("args", []))]
    config = next(a.split("=", 1)[1] for a in server["args"] if a.startswith("--config.file="))
    volumes = {v["name"]: v for v in spec["volumes"]}
    files = {}
    for mount in server["volumeMounts"]:
        source = volumes[mount["name"]].get("configMap")
        if source:
            for key, content in the(objects, "ConfigMap", source["name"])["data"].items():
                files[f"{mount['mountPath'].rstrip('/')}/{key}"] = content
    return files, config


def kubernetes_sd_problems(config: Obj) -> list[str]:
    """Each kubernetes_sd_config must be one Prometheus reads: a documented role, documented keys (Prometheus
    docs, <kubernetes_sd_config>). Only `role: pod` is emulated by `pod_targets` below."""
    keys = {"role", "api_server", "namespaces", "selectors", "attach_metadata", "kubeconfig_file", "basic_auth",
            "authorization", "oauth2", "proxy_url", "no_proxy", "proxy_from_environment", "proxy_connect_header",
            "follow_redirects", "enable_http2", "tls_config"}
    problems = []
    for job in config.get("scrape_configs") or []:
        for sd in job.get("kubernetes_sd_configs") or []:
            if sd.get("role") != "pod":
                problems.append(f"job {job['job_name']}: role {sd.get('role')!r} is not emulated (only pod)")
            problems += [f"job {job['job_name']}: unknown kubernetes_sd_config key {k}" for k in set(sd) - keys]
    return problems


def with_file_sd(config: Obj, targets_dir: Path) -> Obj:
    """`config` with each job's kubernetes_sd_configs replaced by a file_sd_config reading `targets_dir/<job>.json`.

    Debian's Prometheus 2.42 is built without Kubernetes discovery (its promtool says "field kubernetes_sd_configs
    not found in type config.ScrapeConfig"), so the real server is handed, through file discovery, the very labels
    Kubernetes discovery would give (`pod_targets`); everything else in the config is the render's."""
    config = copy.deepcopy(config)
    for job in config.get("scrape_configs") or []:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": [str(targets_dir / f"{job['job_name']}.json")]}]
    return config


def write_config(files: dict[str, str], config_path: str, directory: Path, targets: dict[str, list[Obj]]) -> Path:
    """The pod's config files under `directory` (their absolute paths rewritten there), discovery by files."""
    config = yaml.safe_load(files[config_path])
    config["rule_files"] = [str(directory / p.lstrip("/")) for p in config.get("rule_files") or []]
    (directory / "targets").mkdir(parents=True, exist_ok=True)
    for job in config.get("scrape_configs") or []:
        groups = [{"targets": [labels["__address__"]], "labels": {k: v for k, v in labels.items()
                                                                   if k != "__address__"}}
                  for labels in targets.get(job["job_name"], [])]
        (directory / "targets" / f"{job['job_name']}.json").write_text(json.dumps(groups))
    for path, content in files.items():
        (directory / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (directory / path.lstrip("/")).write_text(content)
    main = directory / config_path.lstrip("/")
    main.write_text(yaml.safe_dump(with_file_sd(config, directory / "targets")))
    return main


def _label_name(name: str) -> str:
    """Prometheus' strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes `_`."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def pod_targets(metadata: Obj, spec: Obj, *, namespace: str, name: str, ip: str, node: str,
                phase: str = "Running") -> list[Obj]:
    """The targets Prometheus' Kubernetes discovery (role pod) makes of a pod, as its docs list them: one per
    declared port of each container (init containers too, `..._container_init`), one port-less target per container
    without ports; pod labels and annotations as `__meta_kubernetes_pod_label_<name>` /
    `..._annotation_<name>` with `..._labelpresent_` / `..._annotationpresent_`."""
    pod = {"__meta_kubernetes_namespace": namespace, "__meta_kubernetes_pod_name": name,
           "__meta_kubernetes_pod_ip": ip, "__meta_kubernetes_pod_node_name": node,
           "__meta_kubernetes_pod_host_ip": "192.0.2.10", "__meta_kubernetes_pod_ready": "true",
           "__meta_kubernetes_pod_phase": phase, "__meta_kubernetes_pod_uid": "0f5e1a52-0000-4000-8000-000000000001",
           "__meta_kubernetes_pod_controller_kind": "ReplicaSet",
           "__meta_kubernetes_pod_controller_name": name.rsplit("-", 1)[0]}
    for kind, values in (("label", metadata.get("labels") or {}), ("annotation", metadata.get("annotations") or {})):
        for key, value in values.items():
            pod[f"__meta_kubernetes_pod_{kind}_{_label_name(key)}"] = value
            pod[f"__meta_kubernetes_pod_{kind}present_{_label_name(key)}"] = "true"
    targets = []
    for init, containers in ((False, spec.get("containers") or []), (True, spec.get("initContainers") or [])):
        for c in containers:
            base = {**pod, "__meta_kubernetes_pod_container_name": c["name"],
                    "__meta_kubernetes_pod_container_image": c.get("image", ""),
                    "__meta_kubernetes_pod_container_init": str(init).lower()}
            ports = c.get("ports") or []
            targets += [{**base, "__address__": f"{ip}:{p['containerPort']}",
                         "__meta_kubernetes_pod_container_port_name": p.get("name", ""),
                         "__meta_kubernetes_pod_container_port_number": str(p["containerPort"]),
                         "__meta_kubernetes_pod_container_port_protocol": p.get("protocol", "TCP")}
                        for p in ports] or [{**base, "__address__": ip}]
    return targets


def meshed(metadata: Obj, spec: Obj, *, namespace: str, workload: str) -> tuple[Obj, Obj]:
    """The pod as Linkerd's proxy injector admits it: the labels it adds (linkerd.io/control-plane-ns,
    linkerd.io/proxy-deployment, linkerd.io/workload-ns) and its containers with their ports, as linkerd2's
    charts/partials/templates/_proxy.tpl names them: linkerd-proxy (4143 `linkerd-proxy`, 4191 `linkerd-admin`);
    with the CNI plugin there is no linkerd-init container. Written out: no cluster is at hand to inject."""
    metadata = {**metadata, "labels": {**(metadata.get("labels") or {}),
                                       "linkerd.io/control-plane-ns": "linkerd",
                                       "linkerd.io/proxy-deployment": workload, "linkerd.io/workload-ns": namespace}}
    proxy = {"name": "linkerd-proxy", "image": "cr.l5d.io/linkerd/proxy:edge-26.8.3",
             "ports": [{"name": "linkerd-proxy", "containerPort": 4143},
                       {"name": "linkerd-admin", "containerPort": metrics.LINKERD_ADMIN_PORT}]}
    return metadata, {**spec, "containers": [proxy, *spec["containers"]]}


def scrape_pools(config_path: Path, directory: Path, timeout: float = 60) -> dict[str, list[Obj]]:
    """Run the real Prometheus server on `config_path` and return its active targets per job (/api/v1/targets):
    what it would scrape, after its own relabelling of the discovered labels."""
    port = free_port()
    log = (directory / "prometheus.log").open("w")
    process = subprocess.Popen([PROMETHEUS_BIN, f"--config.file={config_path}", f"--storage.tsdb.path={directory}/data",
                                f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    wanted = {job["job_name"] for job in yaml.safe_load(config_path.read_text())["scrape_configs"]}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            data = {"activeTargets": [], "droppedTargets": []}
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/targets", timeout=2)
                if response.status_code == 200:  # 503 until the server is ready
                    data = response.json()["data"]
            except httpx.TransportError:
                pass
            pools: dict[str, list[Obj]] = {}
            for target in data["activeTargets"]:
                pools.setdefault(target["scrapePool"], []).append(target)
            # every job has discovered targets, so each shows up, kept (active) or dropped by its relabelling
            if wanted <= set(pools) | {d["discoveredLabels"].get("job") for d in data["droppedTargets"]}:
                return pools
            time.sleep(0.5)
        raise AssertionError(f"Prometheus did not list every job's targets in {timeout} s:\n"
                             + (directory / "prometheus.log").read_text()[-3000:])
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def scrape_problems(pools: dict[str, list[Obj]], *, ip: str, port: int, namespace: str, pod: str,
                    meshed_pod: bool) -> list[str]:
    """What Prometheus would scrape of the app's pod must be its metrics port and path (one target, labelled with
    its namespace and pod), and, when meshed, its Linkerd proxy's admin port (Linkerd: 4191 serves /metrics)."""
    expected = {"kubernetes-pods": [f"http://{ip}:{port}/metrics"],
                "linkerd-proxy": [f"http://{ip}:{metrics.LINKERD_ADMIN_PORT}/metrics"] if meshed_pod else []}
    problems = []
    for job, urls in expected.items():
        targets = pools.get(job, [])
        got = sorted(target["scrapeUrl"] for target in targets)
        if got != urls:
            problems.append(f"job {job} would scrape {got or 'nothing'}, not {urls or 'nothing'}")
        problems += [f"job {job}: target {target['scrapeUrl']} is labelled {target['labels']}, not namespace "
                     f"{namespace} and pod {pod}" for target in targets
                     if (target["labels"].get("namespace"), target["labels"].get("pod")) != (namespace, pod)]
    return problems


def app_pod_targets(overrides: tuple[str, ...] = ()) -> tuple[list[Obj], int, str, bool]:
    """The discovered targets of the k8s stack's web pod (meshed when the stack asks Linkerd to inject it), the
    port its container serves HTTP on (the container port named `http`), its namespace, and whether it is meshed."""
    metadata, spec, namespace = web_pod(*overrides)
    (port,) = [p["containerPort"] for c in spec["containers"] for p in c.get("ports") or [] if p["name"] == "http"]
    (ns,) = k8s_plan(*overrides).find(t.NAMESPACE)
    inject = (offline_plan.reveal(ns.inputs)["metadata"].get("annotations") or {}).get("linkerd.io/inject")
    if inject == "enabled":
        metadata, spec = meshed(metadata, spec, namespace=namespace, workload=POD_NAME.rsplit("-", 2)[0])
    targets = pod_targets(metadata, spec, namespace=namespace, name=POD_NAME, ip=POD_IP, node=NODE)
    return targets, port, namespace, inject == "enabled"


def run_scrape(tmp_path: Path, objects: list[Obj], targets: list[Obj]) -> dict[str, list[Obj]]:
    files, config_path = prometheus_files(objects)
    jobs = [job["job_name"] for job in yaml.safe_load(files[config_path])["scrape_configs"]]
    main = write_config(files, config_path, tmp_path, {job: targets for job in jobs if job != "prometheus"})
    return scrape_pools(main, tmp_path)


def promtool_config_problems(objects: list[Obj], directory: Path) -> list[str]:
    """`promtool check config` on the server's configuration and its rule files (discovery by files: see
    with_file_sd), and the kubernetes_sd_configs it stands in for."""
    files, config_path = prometheus_files(objects)
    config = yaml.safe_load(files[config_path])
    problems = kubernetes_sd_problems(config)
    main = write_config(files, config_path, directory, {})
    result = subprocess.run([PROMTOOL_BIN, "check", "config", str(main)], capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        problems.append(f"promtool check config: {(result.stdout + result.stderr).strip()}")
    return problems


needs_prometheus = pytest.mark.skipif(not (PROMTOOL_BIN and PROMETHEUS_BIN), reason=_NEEDS_PROMETHEUS)


# --- Prometheus: the checks on the stack as it is ---------------------------------------------------------------


@needs_prometheus
def test_rendered_prometheus_configuration_passes_promtool(tmp_path):
    objects = rendered(PROMETHEUS)
    assert promtool_config_problems(objects, tmp_path) == []
    files, config_path = prometheus_files(objects)
    jobs = [job["job_name"] for job in yaml.safe_load(files[config_path])["scrape_configs"]]
    # the chart's other default jobs need exporters and RBAC the platform does not install: each is turned off
    assert sorted(jobs) == ["kubernetes-pods", "linkerd-proxy", "prometheus"]


@needs_prometheus
def test_prometheus_scrapes_the_app_pods_metrics_port_and_path_and_their_linkerd_proxy(tmp_path):
    targets, port, namespace, is_meshed = app_pod_targets()
    assert is_meshed  # the k8s stack meshes its pods by default (linkerd_inject)
    pools = run_scrape(tmp_path, rendered(PROMETHEUS), targets)
    assert scrape_problems(pools, ip=POD_IP, port=port, namespace=namespace, pod=POD_NAME, meshed_pod=True) == []


@needs_prometheus
def test_prometheus_scrapes_an_unmeshed_app_pod_too(tmp_path):
    targets, port, namespace, is_meshed = app_pod_targets(("linkerd_inject=false",))
    assert not is_meshed
    pools = run_scrape(tmp_path, rendered(PROMETHEUS), targets)
    assert scrape_problems(pools, ip=POD_IP, port=port, namespace=namespace, pod=POD_NAME, meshed_pod=False) == []


# --- Prometheus: each check catches what it is there to catch ---------------------------------------------------


def _config_map(objects: list[Obj]) -> Obj:
    return next(o for o in objects if o["kind"] == "ConfigMap" and "prometheus.yml" in o.get("data", {}))


def _edit_jobs(objects: list[Obj], edit) -> list[Obj]:
    cm = _config_map(objects)
    config = yaml.safe_load(cm["data"]["prometheus.yml"])
    for job in config["scrape_configs"]:
        edit(job)
    cm["data"]["prometheus.yml"] = yaml.safe_dump(config)
    return objects


def _bad_regex(job: Obj) -> None:
    if job["job_name"] == "kubernetes-pods":
        job["relabel_configs"][0]["regex"] = "(true"  # RE2 refuses an unclosed group


def _replace_without_target(job: Obj) -> None:
    if job["job_name"] == "kubernetes-pods":
        del job["relabel_configs"][-1]["target_label"]  # Prometheus: replace needs a target_label


def _endpoints_role(job: Obj) -> None:
    if job["job_name"] == "linkerd-proxy":
        job["kubernetes_sd_configs"] = [{"role": "endpoint"}]  # "endpoints" is the role's name


@needs_prometheus
@pytest.mark.parametrize("breakage", [_bad_regex, _replace_without_target, _endpoints_role])
def test_promtool_check_catches_an_invalid_configuration(breakage, tmp_path):
    assert promtool_config_problems(_edit_jobs(rendered(PROMETHEUS), breakage), tmp_path)


def _linkerd_namespace(job: Obj) -> None:
    if job["job_name"] == "linkerd-proxy":  # a control plane in another namespace than Linkerd's
        job["relabel_configs"][1]["regex"] = "^linkerd-proxy;linkerd-admin;linkerd-edge$"


def _keep_regex_case(job: Obj) -> None:
    if job["job_name"] == "kubernetes-pods":  # relabel regexes are case-sensitive and anchored: "True" keeps none
        job["relabel_configs"][0]["regex"] = "True"


def _no_linkerd_drop(job: Obj) -> None:
    if job["job_name"] == "kubernetes-pods":  # without it the proxy's ports are scraped under the app's labels
        job["relabel_configs"] = [r for r in job["relabel_configs"] if r.get("regex") != "linkerd-proxy"]
        job["relabel_configs"].insert(3, {"source_labels": ["__meta_kubernetes_pod_container_port_name"],
                                          "target_label": "container_port", "action": "replace"})


@needs_prometheus
@pytest.mark.parametrize("breakage", [_linkerd_namespace, _keep_regex_case, _no_linkerd_drop])
def test_scrape_check_catches_a_configuration_that_misses_the_app(breakage, tmp_path):
    targets, port, namespace, _ = app_pod_targets()
    pools = run_scrape(tmp_path, _edit_jobs(rendered(PROMETHEUS), breakage), targets)
    assert scrape_problems(pools, ip=POD_IP, port=port, namespace=namespace, pod=POD_NAME, meshed_pod=True)


@needs_prometheus
def test_scrape_check_catches_an_app_pod_annotated_with_another_port(tmp_path):
    targets, port, namespace, _ = app_pod_targets()
    for target in targets:  # the k8s stack's annotation no longer names the port the app serves on
        target["__meta_kubernetes_pod_annotation_prometheus_io_port"] = str(port + 1)
    pools = run_scrape(tmp_path, rendered(PROMETHEUS), targets)
    assert scrape_problems(pools, ip=POD_IP, port=port, namespace=namespace, pod=POD_NAME, meshed_pod=True)


# --- Grafana: the dashboard the stack provisions ----------------------------------------------------------------


def provisioned_dashboards(objects: list[Obj]) -> dict[str, Obj]:
    """{path in the pod: dashboard} for each dashboard file the Grafana pod mounts inside a provider's path, as the
    chart renders them (ConfigMaps mounted through the Deployment's volumes)."""
    spec = the(objects, "Deployment")["spec"]["template"]["spec"]
    config = {k: v for o in objects if o["kind"] == "ConfigMap" for k, v in o["data"].items()}
    providers = yaml.safe_load(config["dashboardproviders.yaml"])["providers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    found = {}
    for mount in spec["containers"][0]["volumeMounts"]:
        source = volumes[mount["name"]].get("configMap")
        if source and mount.get("subPath", "").endswith(".json"):
            cm = the(objects, "ConfigMap", source["name"])
            if any(mount["mountPath"].startswith(p["options"]["path"].rstrip("/") + "/") for p in providers):
                found[mount["mountPath"]] = json.loads(cm["data"][mount["subPath"]])
    return found


def dashboard_queries(dashboard: Obj) -> list[str]:
    """Every PromQL query of the dashboard, Grafana's variables replaced as Grafana does before it sends them:
    `$__rate_interval` by a range, `$namespace` by a value; `label_values(m, l)` of variables by `m`."""
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if query:
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
            queries.append(match.group(1) if match else query)
    return [q.replace("$__rate_interval", "5m").replace("$namespace", "paasport") for q in queries]


def metric_names(node: Any) -> set[str]:
    """The metric names a parsed PromQL expression selects (promql-parser's AST, walked)."""
    if isinstance(node, promql_parser.VectorSelector):
        named = {m.value for m in node.matchers.matchers if m.name == "__name__"} if node.matchers else set()
        return ({node.name} if node.name else set()) | named
    found = set()
    for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None:
            found |= metric_names(child)
    for arg in getattr(node, "args", None) or []:
        found |= metric_names(arg)
    return found


def promtool_rule_problems(queries: list[str], directory: Path) -> list[str]:
    """Prometheus' own parser on each query: `promtool check rules` on a file of one recording rule per query."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"paasport:dashboard:query_{n}", "expr": q} for n, q in enumerate(queries)]}]}
    path = directory / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([PROMTOOL_BIN, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    return [] if result.returncode == 0 else [f"promtool check rules: {(result.stdout + result.stderr).strip()}"]


def unknown_metric_problems(queries: list[str], exported: set[str]) -> list[str]:
    problems = []
    for query in queries:
        missing = metric_names(promql_parser.parse(query)) - exported
        if missing:
            problems.append(f"{query!r} selects {sorted(missing)}, which the app's /metrics does not export")
    return problems


@pytest.fixture(scope="module")
def exported_metrics(actors_database_url) -> set[str]:
    """The sample names of a running app's /metrics (the real server, after it answered requests)."""
    with serving(APP_SERVER, clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="2")) as server:
        for path in ("/", "/api/actors", "/no-such-page"):
            httpx.get(server.url + path, timeout=30)
        text = httpx.get(server.url + "/metrics", timeout=30).text
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def the_dashboard() -> Obj:
    (dashboard,) = provisioned_dashboards(rendered(GRAFANA)).values()
    return dashboard


def test_grafana_provisions_the_app_dashboard_and_the_prometheus_data_source():
    objects = rendered(GRAFANA)
    dashboards = provisioned_dashboards(objects)
    assert [d["uid"] for d in dashboards.values()] == ["paasport-app"]
    config = {k: v for o in objects if o["kind"] == "ConfigMap" for k, v in o["data"].items()}
    (source,) = yaml.safe_load(config["datasources.yaml"])["datasources"]
    # the data source is the Prometheus server's Service, as the Prometheus chart renders it
    service = the(rendered(PROMETHEUS), "Service")
    port = service["spec"]["ports"][0]["port"]
    assert source["url"] == f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:{port}"
    panels = {target["datasource"]["uid"] for d in dashboards.values() for p in d["panels"] for target in p["targets"]}
    assert panels == {source["uid"]}


@needs_prometheus
def test_dashboard_queries_parse_in_prometheus_and_name_metrics_the_app_exports(exported_metrics, tmp_path):
    queries = dashboard_queries(the_dashboard())
    assert len(queries) >= 6
    assert promtool_rule_problems(queries, tmp_path) == []
    assert unknown_metric_problems(queries, exported_metrics) == []
    # requests, latency and the database pool are each on the dashboard
    named = set().union(*(metric_names(promql_parser.parse(q)) for q in queries))
    assert {"http_requests_total", "http_request_duration_seconds_bucket", "db_pool_connections"} <= named


@needs_prometheus
def test_dashboard_checks_catch_a_wrong_metric_name_and_a_bad_query(exported_metrics, tmp_path):
    queries = dashboard_queries(the_dashboard())
    renamed = [q.replace("http_request_duration_seconds_bucket", "http_request_latency_seconds_bucket")
               for q in queries]
    assert unknown_metric_problems(renamed, exported_metrics)
    assert unknown_metric_problems([q.replace("db_pool_connections", "db_pool_size") for q in queries],
                                   exported_metrics)
    assert promtool_rule_problems([queries[0].replace("sum by (route, status)", "sum by route, status")], tmp_path)


# --- logs: Fluent Bit's pipeline into OpenSearch -----------------------------------------------------------------


def sections(conf: str) -> list[tuple[str, dict[str, str]]]:
    """Fluent Bit's classic configuration format: `[SECTION]` headers, then one `Key value` per indented line
    (https://docs.fluentbit.io/manual/administration/configuring-fluent-bit/classic-mode/format-schema)."""
    found: list[tuple[str, dict[str, str]]] = []
    for line in conf.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("[") and text.endswith("]"):
            found.append((text[1:-1].upper(), {}))
        else:
            key, _, value = text.partition(" ")
            found[-1][1][key.lower()] = value.strip()
    return found


def fluent_bit_config(objects: list[Obj]) -> tuple[str, Obj, Obj]:
    """(the main configuration file, the DaemonSet's pod spec, the fluent-bit container) as the pod runs them."""
    spec = the(objects, "DaemonSet")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    path = next(a.split("=", 1)[1] for a in container["args"] if a.startswith("--config="))
    directory, _, name = path.rpartition("/")
    mount = next(m for m in container["volumeMounts"] if m["mountPath"].rstrip("/") == directory)
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    return the(objects, "ConfigMap", volume["configMap"]["name"])["data"][name], spec, container


def _mount_of(container: Obj, spec: Obj, path: str) -> tuple[Obj, Obj] | None:
    """The volume mount (and its volume) that holds `path` in the container: the longest mount path above it."""
    mounts = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"].rstrip("/") + "/")]
    if not mounts:
        return None
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    return mount, next(v for v in spec["volumes"] if v["name"] == mount["name"])


def log_pipeline_problems(agent: list[Obj], store: list[Obj], plan: offline_plan.Plan) -> list[str]:
    """The agent reads the nodes' container logs, keeps its positions where it may write, and sends to the store's
    Service, signed in with the password the store was started with (both from the stack's Secrets)."""
    conf, spec, container = fluent_bit_config(agent)
    problems = []
    config = sections(conf)
    agent_ns = the(agent, "DaemonSet")["metadata"]["namespace"]
    secrets = _secret_data(plan)
    env = {e["name"]: e for e in container.get("env") or []}
    for kind, section in config:
        if kind == "INPUT" and section.get("name") == "tail":
            held = _mount_of(container, spec, section["path"].rsplit("/", 1)[0] + "/x")
            if held is None or "hostPath" not in held[1]:
                problems.append(f"tail reads {section['path']}, which is not on a hostPath volume: not the node's logs")
            db = section.get("db")
            held = _mount_of(container, spec, db) if db else None
            if db and (held is None or held[0].get("readOnly")):
                problems.append(f"tail keeps its positions in {db}, which is not on a writable volume")
        if kind == "OUTPUT" and section.get("name") == "opensearch":
            host, port = section.get("host", ""), int(section.get("port", "9200"))
            name, _, rest = host.partition(".")
            ns = rest.split(".")[0] if rest else agent_ns
            services = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in store if o["kind"] == "Service"}
            service = services.get((ns, name))
            if service is None:
                problems.append(f"output host {host} names no Service of the log store (it has {sorted(services)})")
            elif port not in [p["port"] for p in service["spec"]["ports"] if p.get("name") == "http"]:
                problems.append(f"output port {port} is not the REST (http) port of Service {name}")
            password = section.get("http_passwd", "")
            match = re.fullmatch(r"\$\{(\w+)\}", password)
            if not match:
                problems.append("output HTTP_Passwd is not taken from the environment (${VAR})")
                continue
            ref = (env.get(match.group(1), {}).get("valueFrom") or {}).get("secretKeyRef")
            if ref is None:
                problems.append(f"HTTP_Passwd reads ${{{match.group(1)}}}, which the container's env does not take "
                                "from a Secret")
                continue
            given = secrets.get((agent_ns, ref["name"]), {}).get(ref["key"])
            user = section.get("http_user", "")
            files = store_security_files(store, plan)
            account = (yaml.safe_load(files.get("internal_users.yml", "")) or {}).get(user) or {}
            if given is None or not account.get("hash") or not bcrypt.checkpw(given.encode(), account["hash"].encode()):
                problems.append(f"the agent signs in as {user!r} with Secret {agent_ns}/{ref['name']} key "
                                f"{ref['key']}, which is not that user's password in the store's internal_users.yml")
            elif not may_write(files, user, f"{section.get('logstash_prefix', 'logstash')}-2026.12.05"):
                problems.append(f"user {user!r} may not write the agent's indices ({section.get('logstash_prefix')}-*)")
            problems += agent_tls_problems(section, spec, container, agent_ns, store, plan)
    return problems


def _secret_data(plan: offline_plan.Plan) -> dict[tuple[str, str], dict[str, str]]:
    return {(s["metadata"]["namespace"], s["metadata"]["name"]): s.get("stringData") or {}
            for s in (offline_plan.reveal(r.inputs, show_secrets=True) for r in plan.find(t.SECRET))}


def _mounted_files(spec: Obj, container: Obj, plan: offline_plan.Plan, namespace: str) -> dict[str, str]:
    """{path in the container: content} of every Secret volume the container mounts (a subPath mounts one key)."""
    secrets = _secret_data(plan)
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    files = {}
    for mount in container.get("volumeMounts") or []:
        source = (volumes.get(mount["name"]) or {}).get("secret")
        if source is None:
            continue
        data = secrets.get((namespace, source["secretName"]), {})
        if mount.get("subPath"):
            files[mount["mountPath"]] = data.get(mount["subPath"], "")
        else:
            files |= {f"{mount['mountPath'].rstrip('/')}/{key}": value for key, value in data.items()}
    return files


def store_security_files(store: list[Obj], plan: offline_plan.Plan) -> dict[str, str]:
    """The security plugin's files as the OpenSearch pod mounts them over the image's (by file name)."""
    statefulset = the(store, "StatefulSet")
    spec = statefulset["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "opensearch"]
    mounted = _mounted_files(spec, container, plan, statefulset["metadata"]["namespace"])
    return {path.rsplit("/", 1)[1]: content for path, content in mounted.items()
            if path.startswith("/usr/share/opensearch/config/opensearch-security/")}


def store_certificates(store: list[Obj], plan: offline_plan.Plan) -> dict[str, str]:
    """{path relative to the config directory: PEM} of what the OpenSearch pod mounts under its config directory."""
    statefulset = the(store, "StatefulSet")
    spec = statefulset["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "opensearch"]
    mounted = _mounted_files(spec, container, plan, statefulset["metadata"]["namespace"])
    return {path.removeprefix("/usr/share/opensearch/config/"): pem for path, pem in mounted.items()
            if path.startswith("/usr/share/opensearch/config/certs/")}


def may_write(files: dict[str, str], user: str, index: str) -> bool:
    """Whether the security plugin's roles let `user` bulk-write documents into `index` (its mapped roles' index
    patterns and actions; https://docs.opensearch.org/latest/security/access-control/permissions/)."""
    mapping = yaml.safe_load(files.get("roles_mapping.yml", "")) or {}
    roles = yaml.safe_load(files.get("roles.yml", "")) or {}
    for role, mapped in mapping.items():
        if role == "_meta" or user not in (mapped.get("users") or []) or role not in roles:
            continue
        for grant in roles[role].get("index_permissions") or []:
            if any(fnmatch.fnmatch(index, pattern) for pattern in grant.get("index_patterns") or []) and (
                    {"crud", "write", "indices:data/write/*", "indices_all"} & set(grant.get("allowed_actions") or [])):
                return True
    return False


def agent_tls_problems(section: dict[str, str], spec: Obj, container: Obj, agent_ns: str, store: list[Obj],
                       plan: offline_plan.Plan) -> list[str]:
    """The agent verifies the store: TLS on, certificate and host name verified, against a CA file it mounts that
    signed the certificate the store serves, whose names include the output's Host."""
    problems = []
    for key, value in (("tls", "On"), ("tls.verify", "On"), ("tls.verify_hostname", "On")):
        if section.get(key, "Off").lower() != value.lower():
            problems.append(f"output {key} is {section.get(key, 'Off (the default)')}, not {value}")
    ca_file = section.get("tls.ca_file")
    ca_pem = _mounted_files(spec, container, plan, agent_ns).get(ca_file or "")
    certs = store_certificates(store, plan)
    config = yaml.safe_load(the(store, "ConfigMap")["data"]["opensearch.yml"])
    served = certs.get(config.get("plugins.security.ssl.http", {}).get("pemcert_filepath", ""))
    if not ca_pem or not served:
        return [*problems, f"output tls.ca_file {ca_file!r} is no CA the agent mounts, or the store serves no "
                           "certificate of the stack's"]
    node = x509.load_pem_x509_certificate(served.encode())
    try:
        node.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem.encode()))
    except (ValueError, TypeError, InvalidSignature):
        problems.append(f"the store's certificate is not signed by the CA in {ca_file}")
    names = node.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
    if section.get("host") not in names:
        problems.append(f"the store's certificate does not name the output Host {section.get('host')} ({names})")
    return problems


def test_fluent_bit_reads_the_nodes_logs_and_ships_to_opensearch_with_its_password():
    plan = cluster_plan()
    assert log_pipeline_problems(rendered(FLUENT_BIT), rendered(OPENSEARCH), plan) == []
    config = dict(sections(fluent_bit_config(rendered(FLUENT_BIT))[0]))
    assert config["FILTER"]["merge_log"] == "On"  # the app's JSON lines become fields
    assert [kind for kind, _ in sections(fluent_bit_config(rendered(FLUENT_BIT))[0])] == [
        "SERVICE", "INPUT", "FILTER", "OUTPUT"]


def _edit_conf(objects: list[Obj], old: str, new: str) -> list[Obj]:
    cm = next(o for o in objects if o["kind"] == "ConfigMap" and "fluent-bit.conf" in o["data"])
    assert old in cm["data"]["fluent-bit.conf"]
    cm["data"]["fluent-bit.conf"] = cm["data"]["fluent-bit.conf"].replace(old, new)
    return objects


@pytest.mark.parametrize(("old", "new"), [
    ("Host opensearch-cluster-master.opensearch.svc", "Host elasticsearch-master"),  # the chart's default output
    ("Port 9200", "Port 9300"),  # the transport port
    ("DB /var/lib/fluent-bit/kube.db", "DB /var/log/fluent-bit-kube.db"),  # /var/log is mounted read-only
    ("Path /var/log/containers/*.log", "Path /fluent-bit/logs/*.log"),  # not the node's logs
    ("${OPENSEARCH_PASSWORD}", "${OPENSEARCH_PASS}"),  # no such variable: Fluent Bit sends an empty password
], ids=["chart-default-host", "transport-port", "read-only-db", "not-host-logs", "unset-variable"])
def test_log_pipeline_check_catches_a_broken_agent_configuration(old, new):
    broken = _edit_conf(rendered(FLUENT_BIT), old, new)
    assert log_pipeline_problems(broken, rendered(OPENSEARCH), cluster_plan())


def test_log_pipeline_check_catches_a_password_the_store_was_not_started_with():
    agent = rendered(FLUENT_BIT)
    env = the(agent, "DaemonSet")["spec"]["template"]["spec"]["containers"][0]["env"]
    env[0]["valueFrom"]["secretKeyRef"]["key"] = "username"
    assert log_pipeline_problems(agent, rendered(OPENSEARCH), cluster_plan())


# No registry reachable here ships a fluent-bit binary (Debian 12 has no package, PyPI none); `.ci/fluent-bit` builds
# Fluent Bit 1.8.15 from the sources in npm's `fluent-bit` 0.0.3 (with Debian's Oniguruma for the Onigmo those sources
# lack), and CI runs it. The chart runs Fluent Bit 5.1.1: the tail input, the cri/docker multiline parsers and the
# kubernetes filter's Merge_Log that this check exercises are the same stages in both.
_NO_FLUENT_BIT = "no fluent-bit on PATH: run `.ci/fluent-bit` (builds it from npm's sources) or install Fluent Bit"


@pytest.fixture(scope="module")
def app_log_lines(actors_database_url) -> list[str]:
    """What the real app server wrote on stdout while it answered requests: its JSON log lines."""
    with serving(APP_SERVER, clean_env(DATABASE_URL=actors_database_url, WEB_CONCURRENCY="1")) as server:
        for path in ("/", "/api/actors", "/no-such-page"):
            httpx.get(server.url + path, timeout=30)
        time.sleep(0.5)
        lines = list(server.lines)
    return [line for line in lines if line.startswith("{")]


@pytest.mark.skipif(not FLUENT_BIT_BIN, reason=_NO_FLUENT_BIT)
def test_fluent_bit_reads_the_app_real_json_lines_into_fields(app_log_lines, tmp_path):
    """The stack's inputs and filters, run by the real fluent-bit on the app's lines as containerd writes them
    (CRI: `<time> stdout F <line>`) under /var/log/containers' naming; the kubernetes filter on dummy metadata
    (`Dummy_Meta`: no API server offline); the output to stdout as JSON lines instead of OpenSearch."""
    conf, _, _ = fluent_bit_config(rendered(FLUENT_BIT))
    logs_dir = tmp_path / "containers"
    logs_dir.mkdir()
    log = logs_dir / f"{POD_NAME}_paasport_web-{'0' * 64}.log"
    log.write_text("".join(f"2026-12-02T06:00:00.{n:09d}Z stdout F {line}\n" for n, line in enumerate(app_log_lines)))
    tag_prefix = "kube." + str(logs_dir).strip("/").replace("/", ".") + "."
    conf = conf.replace("Path /var/log/containers/*.log", f"Path {logs_dir}/*.log\n    Read_from_Head On")
    conf = conf.replace("DB /var/lib/fluent-bit/kube.db", f"DB {tmp_path}/kube.db")
    conf = conf.replace("Name kubernetes\n", f"Name kubernetes\n    Dummy_Meta On\n    Kube_Tag_Prefix {tag_prefix}\n")
    conf = conf.split("[OUTPUT]")[0] + "[OUTPUT]\n    Name stdout\n    Match *\n    Format json_lines\n"
    conf = conf.replace("/fluent-bit/etc/conf/custom_parsers.conf", str(tmp_path / "custom_parsers.conf"))
    conf = "\n".join(line for line in conf.splitlines() if "Parsers_File /fluent-bit/etc/parsers.conf" not in line)
    (tmp_path / "custom_parsers.conf").write_text(
        the(rendered(FLUENT_BIT), "ConfigMap")["data"]["custom_parsers.conf"])
    (tmp_path / "fluent-bit.conf").write_text(conf)
    process = subprocess.Popen([FLUENT_BIT_BIN, "-c", str(tmp_path / "fluent-bit.conf")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    time.sleep(5)
    process.terminate()
    out, _ = process.communicate(timeout=30)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    # OpenSearch refuses a document that names a field twice (strict duplicate detection): each key once
    twice = [line for line in lines if len(json.loads(line, object_pairs_hook=list)) != len(json.loads(line))]
    assert not twice, twice[:3]
    records = [json.loads(line) for line in lines]
    requests = [r for r in records if r.get("message") == "request"]
    assert requests, out[-3000:]
    assert all({"level", "logger", "method", "path", "status", "duration_ms", "request_id"} <= set(r)
               for r in requests), requests
    assert {r["path"] for r in requests} >= {"/", "/api/actors", "/no-such-page"}


# --- secrets and protection ------------------------------------------------------------------------------------


def generated_secrets(plan: offline_plan.Plan) -> dict[str, str]:
    """The passwords the metrics and logs parts generate, as the plan knows them."""
    found = {}
    for r in plan.find(t.RANDOM_PASSWORD):
        outputs = offline_plan.reveal(r.outputs, show_secrets=True)
        found[r.name] = outputs["result"]
        if "bcryptHash" in outputs:
            found[f"{r.name} (bcrypt hash)"] = outputs["bcryptHash"]
    for r in plan.find(t.TLS_PRIVATE_KEY):
        outputs = offline_plan.reveal(r.outputs, show_secrets=True)
        found[f"{r.name} (key)"] = outputs["privateKeyPem"].splitlines()[1]
        found[f"{r.name} (PKCS #8 key)"] = outputs["privateKeyPemPkcs8"].splitlines()[1]
    return found


def leak_problems(secrets: dict[str, str], texts: dict[str, str]) -> list[str]:
    return [f"{where} holds the {name} password in plain text" for where, text in texts.items()
            for name, value in secrets.items() if value in text]


def test_generated_passwords_are_secret_in_the_plan_and_never_plain_in_a_render(tmp_path):
    plan = cluster_plan()
    secrets = generated_secrets(plan)
    passwords = [f"{STACK}-grafana-admin", f"{STACK}-opensearch-admin", f"{STACK}-opensearch-dashboards",
                 f"{STACK}-opensearch-dashboards-cookie", f"{STACK}-opensearch-fluentbit"]
    assert set(passwords) <= set(secrets)
    for reg in plan.find(t.SECRET):
        if not reg.name.startswith("opensearch-ca-"):  # the CA's certificate is public; every other one is secret
            assert offline_plan.rpc.is_rpc_secret(reg.inputs["stringData"]), reg.name
    texts = {"the plan (--json)": json.dumps(offline_plan.to_json(plan)),
             "the stack outputs": json.dumps(offline_plan.reveal(plan.outputs))}
    # the values handed to helm, revealed as the engine would hand them over: the passwords travel only by reference
    for reg in plan.resources:
        if reg.type in t.CHARTS:
            texts[f"release {reg.name}'s values"] = json.dumps(offline_plan.reveal(reg.inputs, show_secrets=True)
                                                               .get("values") or {})
    offline_plan.render(plan, tmp_path / "render")
    texts |= {f"rendered {p.name}": p.read_text() for p in (tmp_path / "render").iterdir()}
    assert leak_problems(secrets, texts) == []
    # the check itself: a render with secrets shown holds them
    offline_plan.render(plan, tmp_path / "shown", show_secrets=True)
    shown = {p.name: p.read_text() for p in (tmp_path / "shown").iterdir()}
    # the Grafana Secret, the agent's and the Dashboards' passwords, the users' hashes, the store's keys
    leaked = {problem.split(" holds the ", 1)[1].removesuffix(" password in plain text")
              for problem in leak_problems(secrets, shown)}
    assert leaked == {f"{STACK}-grafana-admin", f"{STACK}-opensearch-dashboards", f"{STACK}-opensearch-fluentbit",
                      f"{STACK}-opensearch-dashboards-cookie", f"{STACK}-opensearch-tls-node (PKCS #8 key)",
                      f"{STACK}-opensearch-tls-admin (PKCS #8 key)", f"{STACK}-linkerd-issuer (key)",
                      *(f"{STACK}-opensearch-{user} (bcrypt hash)" for user in ("admin", "dashboards", "fluentbit"))}


def test_the_metrics_and_log_volumes_are_protected_like_the_database():
    def protected(plan: offline_plan.Plan) -> set[str]:
        parents = {r.urn: r.type for r in plan.resources}
        return {f"{r.type.rsplit(':', 1)[-1]} {r.name}" for r in plan.resources if r.protect
                and parents.get(r.parent) in ("paasport:metrics:Metrics", "paasport:logs:Logs")}

    assert protected(cluster_plan()) == {
        "Namespace monitoring", "Release paasport-prometheus",
        # OpenSearch loads its users' hashes once, on its first start: a new password would lock its user out
        "Namespace opensearch", "Release paasport-opensearch", "RandomPassword paasport-opensearch-admin",
        "RandomPassword paasport-opensearch-dashboards", "RandomPassword paasport-opensearch-dashboards-cookie",
        "RandomPassword paasport-opensearch-fluentbit"}
    assert protected(cluster_plan("protect=false")) == set()
    # and removing a release leaves the data: helm keeps the Prometheus claim, and never deletes a StatefulSet's
    assert the(rendered(PROMETHEUS), "PersistentVolumeClaim")["metadata"]["annotations"] == {
        "helm.sh/resource-policy": "keep"}
    assert the(rendered(OPENSEARCH), "StatefulSet")["spec"]["volumeClaimTemplates"]


# --- the charts as Kubernetes sees them ----------------------------------------------------------------------------

OBSERVABILITY = ("paasport:metrics:Metrics", "paasport:logs:Logs")


def observability_objects(version: str | None = None) -> list[cluster.Rendered]:
    return [r for r in cluster.objects(cluster_plan(), version) if r.component in OBSERVABILITY]


@pytest.mark.parametrize("version", cluster.KUBERNETES_VERSIONS)
def test_metrics_and_logs_objects_are_strictly_valid_on_each_kubernetes_version(version):
    objects = observability_objects(version)
    assert {r.release for r in objects} == {PROMETHEUS, GRAFANA, FLUENT_BIT, OPENSEARCH, DASHBOARDS, None}
    assert cluster.schema_problems(objects, version) == []


def test_only_the_log_agent_namespace_is_privileged_and_only_for_the_node_logs():
    objects = observability_objects()
    levels = {ns: level for ns, level in cluster.namespace_levels(objects).items()}
    assert levels == {"monitoring": "restricted", "opensearch": "restricted", "logging": "privileged"}
    assert cluster.pod_security_problems(objects) == []
    # what the agent needs privileged for: the node's /var/log and its own positions, as root (the files are 0640)
    (agent,) = [r.obj for r in objects if r.obj["kind"] == "DaemonSet"]
    metadata, spec = pod_security.pod_of(agent)
    assert sorted(v.split(":")[0] for v in pod_security.violations(spec, metadata)) == [
        "HostPath Volumes", "HostPath Volumes", "Running as Non-root"]


def test_pod_security_check_catches_chart_defaults_this_stack_overrides():
    objects = observability_objects()
    for r in objects:
        if r.obj["kind"] == "StatefulSet":  # OpenSearch's chart default: its sysctl init container is privileged
            spec = r.obj["spec"]["template"]["spec"]
            spec["initContainers"] = [{"name": "sysctl", "image": "busybox", "securityContext": {"privileged": True,
                                       "runAsUser": 0}, "command": ["sysctl", "-w", "vm.max_map_count=262144"]}]
    problems = cluster.pod_security_problems(objects)
    assert any("StatefulSet opensearch-cluster-master in opensearch (restricted) needs privileged" in p
               for p in problems), problems


# --- who may reach the log store ------------------------------------------------------------------------------


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    """A LabelSelector's matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) against `labels`."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    ops = {"In": lambda k, vs: labels.get(k) in vs, "NotIn": lambda k, vs: labels.get(k) not in vs,
           "Exists": lambda k, _: k in labels, "DoesNotExist": lambda k, _: k not in labels}
    return all(ops[e["operator"]](e["key"], e.get("values") or []) for e in selector.get("matchExpressions") or [])


def admits(policy: Obj, *, source_namespace: str, source_labels: dict[str, str], port: int) -> bool:
    """Whether a NetworkPolicy's ingress rules admit a pod (namespace, labels) to `port` of the pods it selects
    (https://kubernetes.io/docs/concepts/services-networking/network-policies/: a peer with both selectors means
    those pods in those namespaces; a peer with only a podSelector means the policy's own namespace)."""
    namespace_labels = {"kubernetes.io/metadata.name": source_namespace}
    for rule in policy["spec"].get("ingress") or []:
        if rule.get("ports") and port not in [p["port"] for p in rule["ports"]]:
            continue
        for peer in rule.get("from") or [{}]:
            in_namespace = (_selects(peer["namespaceSelector"], namespace_labels) if "namespaceSelector" in peer
                            else source_namespace == policy["metadata"]["namespace"])
            if in_namespace and _selects(peer.get("podSelector") or {}, source_labels):
                return True
    return False


def store_access_problems(policy: Obj, agent: list[Obj], store: list[Obj], dashboards: list[Obj]) -> list[str]:
    def pod(objects: list[Obj], kind: str) -> tuple[str, dict[str, str]]:
        obj = the(objects, kind)
        return obj["metadata"]["namespace"], obj["spec"]["template"]["metadata"]["labels"]

    (store_ns, store_labels), app_ns = pod(store, "StatefulSet"), web_pod()[2]
    problems = [] if _selects(policy["spec"]["podSelector"], store_labels) and \
        policy["metadata"]["namespace"] == store_ns else ["the policy does not select OpenSearch's pods"]
    clients = (("Fluent Bit", pod(agent, "DaemonSet")), ("the Dashboards", pod(dashboards, "Deployment")))
    for who, (ns, labels) in clients:
        if not admits(policy, source_namespace=ns, source_labels=labels, port=logs.OPENSEARCH_PORT):
            problems.append(f"{who} may not reach OpenSearch's REST port")
    web_labels = web_pod()[0]["labels"]
    for port in (logs.OPENSEARCH_PORT, 9300, 9600):
        if admits(policy, source_namespace=app_ns, source_labels=web_labels, port=port):
            problems.append(f"the app's pods may reach OpenSearch's port {port}")
    return problems


def store_policy() -> Obj:
    (policy,) = [offline_plan.reveal(r.inputs) for r in cluster_plan().find(t.NETWORK_POLICY)
                 if r.name.endswith("-opensearch")]
    return policy


def test_only_the_agent_and_the_dashboards_reach_the_log_store():
    assert store_access_problems(store_policy(), rendered(FLUENT_BIT), rendered(OPENSEARCH),
                                 rendered(DASHBOARDS)) == []


@pytest.mark.parametrize("breakage", [
    lambda p: p["spec"]["podSelector"]["matchLabels"].update({"app.kubernetes.io/name": "opensearch-master"}),
    lambda p: p["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"].update(
        {"kubernetes.io/metadata.name": "fluent-bit"}),
    lambda p: p["spec"]["ingress"][0].pop("from"),  # any pod of the cluster
    lambda p: p["spec"]["ingress"][0]["ports"][0].update({"port": 9600}),  # the metrics port, not REST
], ids=["wrong-selector", "agent-namespace", "open-to-all", "not-the-rest-port"])
def test_store_access_check_catches_a_policy_that_shuts_out_the_agent_or_lets_others_in(breakage):
    policy = store_policy()
    breakage(policy)
    assert store_access_problems(policy, rendered(FLUENT_BIT), rendered(OPENSEARCH), rendered(DASHBOARDS))


# --- bad settings: one message each, at preview ------------------------------------------------------------------


def test_bad_metrics_and_logs_settings_are_refused_with_one_message_each(tmp_path):
    (tmp_path / "prometheus-29.27.0.tgz").write_bytes(b"")  # the directory holds the Prometheus chart, nothing else
    with pytest.raises(offline_plan.pulumi.RunError) as caught:
        cluster_plan("metrics_storage_size=8 GB", "metrics_retention=2 weeks", "logs_storage_size=-1Gi",
                     f"prometheus_charts={tmp_path}", f"grafana_charts={tmp_path}", "opensearch_chart_version=3.6")
    lines = [line.strip("- ") for line in str(caught.value).splitlines()[1:]]
    assert [line.split(" ", 1)[0] for line in lines] == [
        "paasport:grafana_charts", "paasport:metrics_storage_size", "paasport:metrics_retention",
        "paasport:opensearch_chart_version", "paasport:logs_storage_size"], lines
    assert "which holds no grafana-12.11.1.tgz (`helm pull` them there, or fix grafana_chart_version)" in lines[0]
    assert "'8 GB', which is not a Kubernetes quantity like 8Gi" in lines[1]
    assert "'2 weeks', which is not a duration in h, d, w or y like 15d" in lines[2]


# --- the log store's own security: no demo certificate or user, TLS verified ------------------------------------

# The image's demo security (install_demo_configuration.sh; opensearch-project/security, config/internal_users.yml):
# its users, whose passwords are in OpenSearch's docs, and its certificates' names.
DEMO_USERS = {"kibanaserver", "kibanaro", "logstash", "readall", "snapshotrestore", "anomalyadmin"}
DEMO_CERTIFICATE_FILES = ("esnode.pem", "esnode-key.pem", "root-ca.pem", "kirk.pem", "kirk-key.pem")


def store_container(store: list[Obj]) -> Obj:
    (container,) = [c for c in the(store, "StatefulSet")["spec"]["template"]["spec"]["containers"]
                    if c["name"] == "opensearch"]
    return container


def test_the_store_runs_no_demo_security_only_the_stacks_users_and_certificates():
    # The defect: OpenSearch ran its image's demo security: node certificates whose key ships in every image, and
    # users whose passwords are published.
    plan, store = cluster_plan(), rendered(OPENSEARCH)
    env = {e["name"]: e.get("value") for e in store_container(store).get("env") or []}
    assert env["DISABLE_INSTALL_DEMO_CONFIG"] == "true" and "OPENSEARCH_INITIAL_ADMIN_PASSWORD" not in env
    config_text = the(store, "ConfigMap")["data"]["opensearch.yml"]
    config = yaml.safe_load(config_text)
    assert not [name for name in DEMO_CERTIFICATE_FILES if name in config_text]
    assert config["plugins.security.allow_unsafe_democertificates"] is False
    assert config["plugins.security.nodes_dn"] == ["CN=opensearch-cluster-master"]
    assert config["plugins.security.authcz.admin_dn"] == ["CN=paasport-opensearch-admin"]
    # the users: the stack's three, each hash the bcrypt of its generated password, and no demo user
    files = store_security_files(store, plan)
    assert set(files) == {"internal_users.yml", "roles.yml", "roles_mapping.yml"}
    users = yaml.safe_load(files["internal_users.yml"])
    assert set(users) - {"_meta"} == {"admin", "dashboards", "fluentbit"} and not DEMO_USERS & set(users)
    passwords = generated_secrets(plan)
    for user, account in users.items():
        if user != "_meta":
            assert bcrypt.checkpw(passwords[f"{STACK}-opensearch-{user}"].encode(), account["hash"].encode()), user
    assert not DEMO_USERS & {u for m in yaml.safe_load(files["roles_mapping.yml"]).values() for u in m.get("users", [])}
    # the certificates it serves and trusts: the stack's, its node's signed by its CA, keys in PKCS #8
    certs = store_certificates(store, plan)
    assert set(certs) == {"certs/ca.crt", "certs/tls.crt", "certs/tls.key", "certs/admin.crt", "certs/admin.key"}
    ca = x509.load_pem_x509_certificate(certs["certs/ca.crt"].encode())
    for name, subject in (("tls", "CN=opensearch-cluster-master"), ("admin", "CN=paasport-opensearch-admin")):
        cert = x509.load_pem_x509_certificate(certs[f"certs/{name}.crt"].encode())
        cert.verify_directly_issued_by(ca)
        assert cert.subject.rfc4514_string() == subject
        assert certs[f"certs/{name}.key"].startswith("-----BEGIN PRIVATE KEY-----")
    stack_ca = offline_plan.reveal(plan.find(t.TLS_SELF_SIGNED_CERT, f"{STACK}-opensearch-tls-ca")[0].outputs)
    assert certs["certs/ca.crt"] == stack_ca["certPem"]


def test_fluent_bit_and_the_dashboards_verify_the_store_against_the_stacks_ca():
    plan = cluster_plan()
    output = dict(sections(fluent_bit_config(rendered(FLUENT_BIT))[0]))["OUTPUT"]
    assert (output["tls"], output["tls.verify"], output["tls.verify_hostname"], output["http_user"]) == (
        "On", "On", "On", "fluentbit")
    assert log_pipeline_problems(rendered(FLUENT_BIT), rendered(OPENSEARCH), plan) == []
    dashboards = rendered(DASHBOARDS)
    deployment = the(dashboards, "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    config = yaml.safe_load(the(dashboards, "ConfigMap")["data"]["opensearch_dashboards.yml"])
    assert config["opensearch.ssl.verificationMode"] == "full"
    assert (config["opensearch.username"], config["opensearch_security.cookie.password"]) == (
        "${OPENSEARCH_USERNAME}", "${COOKIE_PASS}")
    mounted = _mounted_files(spec, container, plan, deployment["metadata"]["namespace"])
    (ca_file,) = config["opensearch.ssl.certificateAuthorities"]
    certs = store_certificates(rendered(OPENSEARCH), plan)
    x509.load_pem_x509_certificate(certs["certs/tls.crt"].encode()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(mounted[ca_file].encode()))
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    account = _secret_data(plan)[("opensearch", env["OPENSEARCH_PASSWORD"]["name"])]
    users = yaml.safe_load(store_security_files(rendered(OPENSEARCH), plan)["internal_users.yml"])
    assert account["username"] == "dashboards" and bcrypt.checkpw(account["password"].encode(),
                                                                  users["dashboards"]["hash"].encode())
    # the session cookie's key: a generated one, 32 characters or more (the plugin's own default is published)
    (cookie,) = [r for r in plan.find(t.RANDOM_PASSWORD)
                 if offline_plan.reveal(r.outputs, show_secrets=True)["result"] == account["cookie"]]
    assert offline_plan.reveal(cookie.inputs)["length"] >= 32


@pytest.mark.parametrize(("old", "new"), [
    ("tls.verify On", "tls.verify Off"),
    ("tls.verify_hostname On\n", ""),
    ("Host opensearch-cluster-master.opensearch.svc", "Host opensearch.example.com"),  # not a name the cert has
    ("tls.ca_file /fluent-bit/etc/opensearch-ca/ca.crt", "tls.ca_file /etc/ssl/certs/ca-certificates.crt"),
], ids=["verify-off", "no-hostname-check", "host-not-in-certificate", "another-ca"])
def test_the_tls_check_catches_an_agent_that_would_not_verify_the_store(old, new):
    assert log_pipeline_problems(_edit_conf(rendered(FLUENT_BIT), old, new), rendered(OPENSEARCH), cluster_plan())


class OpenSearchStandIn:
    """A loopback HTTPS server in OpenSearch's place, as the agent uses it: TLS with the certificate and key the store's
    pod mounts, HTTP basic auth against internal_users.yml's bcrypt hashes, the security plugin's rule that a user's
    mapped roles must grant writes on the index (roles_mapping.yml, roles.yml), and `_bulk` answered in OpenSearch's
    format (https://docs.opensearch.org/latest/api-reference/document-apis/bulk/). It is not OpenSearch: no registry
    reachable here ships an OpenSearch that runs (Docker Hub and Maven Central are out of reach; PyPI, npm and
    Debian have clients only)."""

    def __init__(self, cert: str, key: str, files: dict[str, str], directory: Path) -> None:
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        (directory / "node.crt").write_text(cert)
        (directory / "node.key").write_text(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / "node.crt", directory / "node.key")
        users = yaml.safe_load(files["internal_users.yml"])
        self.documents: list[tuple[str, str, Obj]] = []  # (user, index, document)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: Obj) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                import base64

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                basic = base64.b64decode(token).decode() if scheme == "Basic" else ":"
                user, _, password = basic.partition(":")
                account = users.get(user) if user != "_meta" else None
                if not account or not bcrypt.checkpw(password.encode(), account["hash"].encode()):
                    return self._answer(401, {"error": "Unauthorized"})
                if not self.path.startswith("/_bulk"):
                    return self._answer(404, {"error": "no such endpoint here"})
                lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                items = []
                for action, document in zip(lines[::2], lines[1::2], strict=True):
                    (op, meta), = action.items()
                    if not may_write(files, user, meta["_index"]):
                        items.append({op: {"_index": meta["_index"], "status": 403, "error": {
                            "type": "security_exception", "reason": f"no permissions for [{user}]"}}})
                        continue
                    stand_in.documents.append((user, meta["_index"], document))
                    items.append({op: {"_index": meta["_index"], "result": "created", "status": 201}})
                self._answer(200, {"took": 1, "errors": any(i[next(iter(i))]["status"] >= 300 for i in items),
                                   "items": items})

        class Server(ThreadingHTTPServer):
            def get_request(self) -> tuple:
                try:
                    return super().get_request()
                except ssl.SSLError as error:  # the client's alert, e.g. an unknown CA: what the test looks for
                    stand_in.handshake_errors.append(str(error))
                    raise

        self.handshake_errors: list[str] = []
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OpenSearchStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_agent_output(conf: str, port: int, ca_file: Path, password: str, directory: Path) -> str:
    """The render's [OUTPUT] run by the real fluent-bit against 127.0.0.1:`port`, fed by a dummy input for a few
    seconds. Fluent Bit 1.8.15 (what `.ci/fluent-bit` builds) predates the `opensearch` output (1.9), a fork of `es`
    with the same keys, and `tls.verify_hostname` (2.x): it runs `es`, and checks the chain but not the name, which
    the render check above asserts is on."""
    output = "[OUTPUT]" + conf.split("[OUTPUT]", 1)[1]
    output = output.replace("Name opensearch", "Name es").replace("    tls.verify_hostname On\n", "")
    output = re.sub(r"Host \S+", "Host 127.0.0.1", output)
    output = re.sub(r"Port \d+", f"Port {port}", output)
    output = re.sub(r"tls\.ca_file \S+", f"tls.ca_file {ca_file}", output)
    (directory / "agent.conf").write_text(
        "[SERVICE]\n    Flush 1\n    Log_Level info\n[INPUT]\n    Name dummy\n    Tag kube.standin\n"
        '    Dummy {"message": "hello from the agent", "level": "info"}\n' + output)
    process = subprocess.Popen([FLUENT_BIT_BIN, "-c", str(directory / "agent.conf")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={"OPENSEARCH_PASSWORD": password,
                                                                         "PATH": "/usr/bin:/bin"})
    time.sleep(5)
    process.terminate()
    out, _ = process.communicate(timeout=30)
    return out


def _other_ca_certificate(directory: Path) -> tuple[str, str]:
    """A node certificate for the same names signed by a CA that is not the stack's: what a forged store presents."""
    import datetime

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opensearch-cluster-master")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("opensearch-cluster-master.opensearch.svc")]),
                           critical=False).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


@pytest.mark.skipif(not FLUENT_BIT_BIN, reason=_NO_FLUENT_BIT)
def test_the_real_fluent_bit_ships_to_a_store_with_the_stacks_certificate_and_refuses_another(tmp_path):
    plan, store = cluster_plan(), rendered(OPENSEARCH)
    conf, spec, container = fluent_bit_config(rendered(FLUENT_BIT))
    certs, files = store_certificates(store, plan), store_security_files(store, plan)
    agent = _mounted_files(spec, container, plan, "logging")
    output = dict(sections(conf))["OUTPUT"]
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(agent[output["tls.ca_file"]])
    password = _secret_data(plan)[("logging", logs.AGENT_SECRET)]["password"]
    with OpenSearchStandIn(certs["certs/tls.crt"], certs["certs/tls.key"], files, tmp_path) as server:
        out = run_agent_output(conf, server.port, ca_file, password, tmp_path)
    assert server.documents and server.handshake_errors == [], out[-3000:]
    assert {(user, index.split("-", 1)[0]) for user, index, _ in server.documents} == {("fluentbit", "logs")}
    assert all(re.fullmatch(r"logs-\d{4}\.\d{2}\.\d{2}", index) for _, index, _ in server.documents)
    assert {d["message"] for _, _, d in server.documents} == {"hello from the agent"}
    # A store whose certificate the stack's CA did not sign gets nothing: the agent refuses the handshake.
    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    with OpenSearchStandIn(*_other_ca_certificate(forged_dir), files, forged_dir) as forged:
        out = run_agent_output(conf, forged.port, ca_file, password, forged_dir)
    assert forged.documents == [], out[-3000:]
    assert forged.handshake_errors and all("UNKNOWN_CA" in e.upper().replace(" ", "_")
                                           for e in forged.handshake_errors), forged.handshake_errors
