"""Metrics: Prometheus scraping the pods' `prometheus.io/*` annotations and the Linkerd proxies, and Grafana with
the app's dashboard provisioned from this repository.

Why the `prometheus` chart and not `kube-prometheus-stack` (both pinned in ../shared/charts), from their renders
with default values (helm 4.3.1): `prometheus` 29.27.0 is 23 objects, no CRD, 38 KB of YAML, and its whole
scrape configuration is a ConfigMap in the render, so `promtool check config` judges exactly what the server
will load. `kube-prometheus-stack` 88.5.3 is 132 objects with 10 CRDs, an operator, an admission webhook with two
certificate Jobs, 35 PrometheusRules and 13 ServiceMonitors (5.2 MB of YAML); its Prometheus configuration is
generated at run time by the operator from ServiceMonitors, so no offline tool could check it. The annotations
and the Linkerd proxies need two scrape jobs, not an operator.

Upstream references: the chart's values.yaml (prometheus-community/helm-charts tag prometheus-29.27.0:
`scrapeConfigs`, `server.*`, `configmapReload.*`); Prometheus `kubernetes_sd_config` role pod (one target per
declared container port, meta labels `__meta_kubernetes_pod_container_name`, `..._container_port_name`,
`..._container_init`) and `relabel_config` (https://prometheus.io/docs/prometheus/latest/configuration/
configuration/); Linkerd "Bringing your own Prometheus" (https://linkerd.io/2/tasks/external-prometheus/): the
`linkerd-proxy` job keeps container `linkerd-proxy`, port `linkerd-admin` (4191) of pods labelled
`linkerd.io/control-plane-ns`; Grafana chart values (grafana-community/helm-charts tag grafana-12.11.1:
`datasources`, `dashboardProviders`, `dashboards`, `admin.existingSecret`) and Grafana's file provisioning
(https://grafana.com/docs/grafana/latest/administration/provisioning/).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import charts
from infra.charts import ChartSource, read_charts
from infra.cluster.namespace import namespace
from infra.k8s.settings import _QUANTITY
from infra.settings import Reader

PROMETHEUS_CHART, GRAFANA_CHART = "prometheus", "grafana"
CHARTS = (PROMETHEUS_CHART, GRAFANA_CHART)
NAMESPACE = "monitoring"
LINKERD_NAMESPACE = "linkerd"  # the control plane's namespace: injected pods carry linkerd.io/control-plane-ns=linkerd
LINKERD_ADMIN_PORT = 4191
DASHBOARD = Path(__file__).resolve().parent / "dashboards" / "paasport.json"
ADMIN_SECRET = "grafana-admin"  # noqa: S105 (a Secret's name)
_DURATION = re.compile(r"^[1-9][0-9]*(h|d|w|y)$")  # Prometheus --storage.tsdb.retention.time units
_RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                         "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"}}


@dataclass(frozen=True)
class MetricsSettings:
    """Where the two charts come from, the Prometheus volume and how long it keeps samples."""

    prometheus: ChartSource
    grafana: ChartSource
    storage_size: str
    retention: str


def read_settings(r: Reader) -> MetricsSettings | None:
    """The metrics settings (`metrics_*`, `prometheus_*`, `grafana_*`); None when `metrics_enabled` is false."""
    prometheus = read_charts(r, "prometheus", (PROMETHEUS_CHART,), example_version="29.27.0")[PROMETHEUS_CHART]
    grafana = read_charts(r, "grafana", (GRAFANA_CHART,), example_version="12.11.1")[GRAFANA_CHART]
    storage_size = r.text("metrics_storage_size", pattern=_QUANTITY, why="a Kubernetes quantity like 8Gi",
                          example="8Gi")
    retention = r.text("metrics_retention", pattern=_DURATION, why="a duration in h, d, w or y like 15d",
                       example="15d")
    if not r.flag("metrics_enabled"):
        return None
    return MetricsSettings(prometheus=prometheus, grafana=grafana, storage_size=storage_size, retention=retention)


# --- Prometheus ----------------------------------------------------------------------------------------------


def pods_job() -> dict:
    """The chart's own `kubernetes-pods` job (values.yaml), with one change: Prometheus makes a target per declared
    container port, and every target of an annotated pod is rewritten to the annotated port, so a meshed pod would
    yield one target per port of its linkerd-proxy too; those and init containers' are dropped first."""
    return {
        "enabled": True, "job_name": "kubernetes-pods", "honor_labels": True,
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep",
             "regex": "true"},
            {"source_labels": ["__meta_kubernetes_pod_container_init"], "action": "drop", "regex": "true"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "action": "drop", "regex": "linkerd-proxy"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scheme"], "action": "replace",
             "regex": "(https?)", "target_label": "__scheme__"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"], "action": "replace",
             "target_label": "__metrics_path__", "regex": "(.+)"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_port", "__meta_kubernetes_pod_ip"],
             "action": "replace", "regex": r"(\d+);(([A-Fa-f0-9]{1,4}::?){1,7}[A-Fa-f0-9]{1,4})",
             "replacement": "[$2]:$1", "target_label": "__address__"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_port", "__meta_kubernetes_pod_ip"],
             "action": "replace", "regex": r"(\d+);((([0-9]+?)(\.|$)){4})", "replacement": "$2:$1",
             "target_label": "__address__"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
            {"source_labels": ["__meta_kubernetes_namespace"], "action": "replace", "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "action": "replace", "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Pending|Succeeded|Failed|Completed",
             "action": "drop"},
            {"source_labels": ["__meta_kubernetes_pod_node_name"], "action": "replace", "target_label": "node"},
        ],
    }


def linkerd_proxy_job() -> dict:
    """Linkerd's own `linkerd-proxy` job, rule for rule: linkerd/linkerd2 viz/charts/linkerd-viz/templates/
    prometheus.yaml (what "Bringing your own Prometheus" tells an external Prometheus to run). It keeps the
    `linkerd-admin` port (4191) of `linkerd-proxy` containers in pods of this control plane, and turns the proxy's
    `linkerd.io/proxy-*` pod labels into `deployment`, `k8s_job`, ... labels that Linkerd's dashboards read."""
    return {
        "enabled": True, "job_name": "linkerd-proxy",
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Pending|Running)", "action": "keep"},
            {"source_labels": ["__meta_kubernetes_pod_container_name", "__meta_kubernetes_pod_container_port_name",
                               "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"],
             "action": "keep", "regex": f"^linkerd-proxy;linkerd-admin;{LINKERD_NAMESPACE}$"},
            {"source_labels": ["__meta_kubernetes_namespace"], "action": "replace", "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "action": "replace", "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_label_linkerd_io_proxy_job"], "action": "replace",
             "target_label": "k8s_job"},
            {"action": "labeldrop", "regex": "__meta_kubernetes_pod_label_linkerd_io_proxy_job"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"},
            {"action": "labeldrop", "regex": "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_linkerd_io_(.+)"},
            {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)", "replacement": "__tmp_pod_label_$1"},
            {"action": "labelmap", "regex": "__tmp_pod_label_linkerd_io_(.+)", "replacement": "__tmp_pod_label_$1"},
            {"action": "labeldrop", "regex": "__tmp_pod_label_linkerd_io_(.+)"},
            {"action": "labelmap", "regex": "__tmp_pod_label_(.+)"},
        ],
    }


# The chart's default jobs this stack does not run: API server, node and service-endpoint jobs need RBAC and
# exporters the platform does not install (node-exporter needs the host's namespaces, which `restricted` refuses).
_DEFAULT_JOBS_OFF = ("kubernetes-api-servers", "kubernetes-nodes", "kubernetes-nodes-cadvisor",
                     "kubernetes-service-endpoints", "kubernetes-service-endpoints-slow", "prometheus-pushgateway",
                     "kubernetes-services", "kubernetes-pods-slow")


def prometheus_values(s: MetricsSettings) -> dict:
    """prometheus 29.27.0 values: the server alone (no Alertmanager, exporters or Pushgateway), on a volume."""
    return {
        "alertmanager": {"enabled": False},
        "kube-state-metrics": {"enabled": False},
        "prometheus-node-exporter": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
        "configmapReload": {"prometheus": {
            "containerSecurityContext": _RESTRICTED_CONTAINER,
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}}},
        "server": {
            "retention": s.retention,
            "global": {"scrape_interval": "30s", "scrape_timeout": "10s", "evaluation_interval": "30s"},
            # The server is a Deployment with the chart's own claim, which `helm uninstall` would delete: kept, like
            # a StatefulSet's claims (OpenSearch's), so that removing the release never removes the samples.
            "persistentVolume": {"enabled": True, "size": s.storage_size,
                                 "annotations": {"helm.sh/resource-policy": "keep"}},
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": _RESTRICTED_CONTAINER,
            "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            # A new pod must not start on the volume while the old one holds it (ReadWriteOnce).
            "strategy": {"type": "Recreate"},
        },
        "scrapeConfigs": {**{job: {"enabled": False} for job in _DEFAULT_JOBS_OFF},
                          "kubernetes-pods": pods_job(), "linkerd-proxy": linkerd_proxy_job()},
    }


# --- Grafana -------------------------------------------------------------------------------------------------


def dashboard() -> dict:
    """The app's dashboard (requests, latency, database pool), as Grafana's dashboard JSON model."""
    return json.loads(DASHBOARD.read_text())


def prometheus_url(prometheus_release: str) -> str:
    """The server's Service: the chart names it `<release>-server` (templates/_helpers.tpl,
    `prometheus.server.fullname`, when the release name holds the chart's), port 80 (`server.service.servicePort`)."""
    return f"http://{prometheus_release}-server.{NAMESPACE}.svc:80"


def grafana_values(prometheus_release: str) -> dict:
    """grafana 12.11.1 values: the Prometheus data source and the app's dashboard, provisioned from files the chart
    writes into ConfigMaps (no sidecar, no cluster-wide watch); the admin password from the stack's Secret."""
    return {
        "admin": {"existingSecret": ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        "testFramework": {"enabled": False},
        "initChownData": {"enabled": False},  # it runs as root to chown a volume; Grafana keeps no volume here
        "persistence": {"enabled": False},  # dashboards and the data source come from the stack, not from a disk
        "automountServiceAccountToken": False,
        "rbac": {"create": False},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 472, "runAsGroup": 472, "fsGroup": 472,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": _RESTRICTED_CONTAINER,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "datasources": {"datasources.yaml": {"apiVersion": 1, "datasources": [{
            "name": "Prometheus", "type": "prometheus", "uid": "prometheus", "url": prometheus_url(prometheus_release),
            "access": "proxy", "isDefault": True, "editable": False}]}},
        "dashboardProviders": {"dashboardproviders.yaml": {"apiVersion": 1, "providers": [{
            "name": "paasport", "orgId": 1, "folder": "paasport", "type": "file", "disableDeletion": True,
            "editable": False, "options": {"path": "/var/lib/grafana/dashboards/paasport"}}]}},
        "dashboards": {"paasport": {"paasport-app": {"json": json.dumps(dashboard())}}},
    }


class Metrics(pulumi.ComponentResource):
    """Prometheus (its volume protected like the database) and Grafana, in the `monitoring` namespace, which
    enforces the `restricted` Pod Security level: none of their pods needs more."""

    def __init__(self, name: str, *, settings: MetricsSettings, protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:metrics:Metrics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        ns = namespace(NAMESPACE, level="restricted", opts=kept)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        prometheus_release, grafana_release = f"{name}-{PROMETHEUS_CHART}", f"{name}-{GRAFANA_CHART}"
        self.prometheus = charts.install(prometheus_release, settings.prometheus, namespace=NAMESPACE,
                                         values=prometheus_values(settings),
                                         opts=pulumi.ResourceOptions.merge(in_ns, kept))
        # Not protected: Grafana keeps no state here (no volume), so a new password only signs in anew.
        password = random.RandomPassword(f"{name}-grafana-admin", length=32, special=False, opts=child)
        secret = k8s.core.v1.Secret(
            ADMIN_SECRET, metadata={"name": ADMIN_SECRET, "namespace": NAMESPACE},
            string_data={"admin-user": "admin", "admin-password": password.result}, type="Opaque",
            opts=pulumi.ResourceOptions.merge(in_ns, child))
        self.grafana = charts.install(grafana_release, settings.grafana, namespace=NAMESPACE,
                                      values=grafana_values(prometheus_release),
                                      opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, secret]))
        self.grafana_admin_password = password.result
        self.prometheus_url = prometheus_url(prometheus_release)
        self.register_outputs({"grafana_admin_password": password.result, "prometheus_url": self.prometheus_url})
