"""Logs: Fluent Bit on every node ships the containers' log lines, the app's JSON read into fields, to OpenSearch,
searched with OpenSearch Dashboards.

Why Fluent Bit + OpenSearch and not the articles' fluentd + Elasticsearch, or Loki: the charts at hand are Fluent
Bit 0.58.1 (Fluent Bit 5.1.1), OpenSearch 3.6.0 and OpenSearch Dashboards 3.6.0 (../shared/charts has no fluentd,
Elasticsearch or Loki chart). Fluent Bit is a C agent: the node agent, which runs once per node, requests 50m CPU
and 64 MiB here, where fluentd (Ruby) commonly needs 200-500 MiB. OpenSearch is the Apache-2.0 continuation of
Elasticsearch 7.10, with the same query language and a Dashboards UI (Kibana's fork), so the articles' "search
the logs in Kibana" is kept. Figures per component: tests/offline/test_observability.py, `make plan`.

Upstream references: the charts' values.yaml (fluent/helm-charts tag fluent-bit-0.58.1: `config.*`, `env`,
`daemonSetVolumes`; opensearch-project/helm-charts tags opensearch-3.6.0 and opensearch-dashboards-3.6.0);
Fluent Bit's tail input (`multiline.parser docker, cri`), kubernetes filter (`Merge_Log` parses a JSON `log` into
fields at the top level) and opensearch output (`Suppress_Type_Name`, `Logstash_Format`)
(https://docs.fluentbit.io/manual/pipeline/filters/kubernetes, .../outputs/opensearch); OpenSearch's docker
image reads settings with dots from the environment and refuses to start without
OPENSEARCH_INITIAL_ADMIN_PASSWORD (https://docs.opensearch.org/latest/install-and-configure/install-opensearch/
docker/); `node.store.allow_mmap: false` keeps OpenSearch off mmapfs/hybridfs, and then the maximum map count
bootstrap check is not enforced (Elasticsearch's, which OpenSearch forked: https://www.elastic.co/guide/en/
elasticsearch/reference/current/_maximum_map_count_check.html), so nodes need no raised vm.max_map_count and the
chart's privileged sysctl init container stays off.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import charts
from infra.charts import ChartSource, read_charts
from infra.cluster.namespace import namespace
from infra.k8s.settings import _QUANTITY
from infra.settings import Reader

FLUENT_BIT_CHART, OPENSEARCH_CHART, DASHBOARDS_CHART = "fluent-bit", "opensearch", "opensearch-dashboards"
CHARTS = (FLUENT_BIT_CHART, OPENSEARCH_CHART, DASHBOARDS_CHART)
# The node agent reads the host's /var/log (hostPath), which only `privileged` admits; the store and its UI are
# plain pods, in a namespace of their own that enforces `restricted`.
AGENT_NAMESPACE, STORE_NAMESPACE = "logging", "opensearch"
# opensearch 3.6.0 names its Service `<clusterName>-<nodeGroup>` (values.yaml: opensearch-cluster, master).
OPENSEARCH_HOST = f"opensearch-cluster-master.{STORE_NAMESPACE}.svc"
OPENSEARCH_PORT = 9200
ADMIN_SECRET = "opensearch-admin"  # noqa: S105 (a Secret's name, in both namespaces)
ADMIN_USER = "admin"
INDEX_PREFIX = "logs"
_RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                         "seccompProfile": {"type": "RuntimeDefault"}}


@dataclass(frozen=True)
class LogsSettings:
    """Where the three charts come from, and the log store's volume."""

    fluent_bit: ChartSource
    opensearch: ChartSource
    dashboards: ChartSource
    storage_size: str


def read_settings(r: Reader) -> LogsSettings | None:
    """The logs settings (`logs_*`, `fluent_bit_*`, `opensearch_*`); None when `logs_enabled` is false."""
    fluent_bit = read_charts(r, "fluent_bit", (FLUENT_BIT_CHART,), example_version="0.58.1")[FLUENT_BIT_CHART]
    store = read_charts(r, "opensearch", (OPENSEARCH_CHART, DASHBOARDS_CHART), example_version="3.6.0")
    storage_size = r.text("logs_storage_size", pattern=_QUANTITY, why="a Kubernetes quantity like 8Gi",
                          example="8Gi")
    if not r.flag("logs_enabled"):
        return None
    return LogsSettings(fluent_bit=fluent_bit, opensearch=store[OPENSEARCH_CHART],
                        dashboards=store[DASHBOARDS_CHART], storage_size=storage_size)


# --- Fluent Bit ----------------------------------------------------------------------------------------------

INPUTS = """\
[INPUT]
    Name tail
    Path /var/log/containers/*.log
    multiline.parser docker, cri
    Tag kube.*
    DB /var/lib/fluent-bit/kube.db
    Mem_Buf_Limit 16MB
    Skip_Long_Lines On
"""
FILTERS = """\
[FILTER]
    Name kubernetes
    Match kube.*
    Merge_Log On
    Keep_Log Off
    K8S-Logging.Parser On
    K8S-Logging.Exclude On
    Annotations Off
"""
OUTPUTS = f"""\
[OUTPUT]
    Name opensearch
    Match kube.*
    Host {OPENSEARCH_HOST}
    Port {OPENSEARCH_PORT}
    HTTP_User {ADMIN_USER}
    HTTP_Passwd ${{OPENSEARCH_PASSWORD}}
    tls On
    tls.verify Off
    Logstash_Format On
    Logstash_Prefix {INDEX_PREFIX}
    Suppress_Type_Name On
    Replace_Dots On
    Trace_Error On
    Retry_Limit 10
"""


def fluent_bit_values() -> dict:
    """fluent-bit 0.58.1 values: containers' logs only (the chart's systemd input is dropped), to OpenSearch; the
    password comes from the stack's Secret through the environment (Fluent Bit expands ${VAR} in its config)."""
    return {
        "testFramework": {"enabled": False},
        "config": {"inputs": INPUTS, "filters": FILTERS, "outputs": OUTPUTS},
        "env": [{"name": "OPENSEARCH_PASSWORD",
                 "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": "password"}}}],
        # Root reads the root-owned 0640 files under /var/log/pods; it needs no capability for that.
        "securityContext": {**_RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True},
        # The host's /var/log read-only (containerd's /var/log/pods, linked from /var/log/containers), and a
        # directory of its own for the tail positions, so a restarted agent neither skips nor resends lines. The
        # chart's /var/lib/docker/containers and /etc/machine-id serve Docker and the systemd input: not used here.
        "daemonSetVolumes": [
            {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {"name": "state", "hostPath": {"path": "/var/lib/fluent-bit", "type": "DirectoryOrCreate"}}],
        "daemonSetVolumeMounts": [{"name": "varlog", "mountPath": "/var/log", "readOnly": True},
                                  {"name": "state", "mountPath": "/var/lib/fluent-bit"}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }


# --- OpenSearch and its Dashboards ---------------------------------------------------------------------------


def opensearch_values(s: LogsSettings) -> dict:
    """opensearch 3.6.0 values: one node (a small cluster's log store), on a volume, no privileged init container."""
    return {
        "singleNode": True,
        "opensearchJavaOpts": "-Xms512m -Xmx512m",
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "1536Mi"}},
        "persistence": {"enabled": True, "size": s.storage_size, "enableInitChown": False},
        "sysctlInit": {"enabled": False},
        "sysctl": {"enabled": False},
        "extraEnvs": [
            {"name": "OPENSEARCH_INITIAL_ADMIN_PASSWORD",
             "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": "password"}}},
            {"name": "node.store.allow_mmap", "value": "false"},
        ],
        "podSecurityContext": {"fsGroup": 1000, "runAsUser": 1000, "runAsNonRoot": True,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**_RESTRICTED_CONTAINER, "runAsNonRoot": True, "runAsUser": 1000},
    }


def dashboards_values() -> dict:
    """opensearch-dashboards 3.6.0 values: it signs in to OpenSearch as the admin of the stack's Secret."""
    return {
        "opensearchHosts": f"https://{OPENSEARCH_HOST}:{OPENSEARCH_PORT}",
        "opensearchAccount": {"secret": ADMIN_SECRET},
        "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "768Mi"}},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**_RESTRICTED_CONTAINER, "runAsNonRoot": True, "runAsUser": 1000},
    }


def store_policy(store_release: str, agent_release: str, dashboards_release: str) -> dict:
    """Only the agent (from `logging`) and the Dashboards reach OpenSearch's REST port, and only OpenSearch nodes its
    transport port: the image's demo security configuration keeps demo users with published passwords
    (kibanaserver, logstash, readall, ...), so no other pod may get a connection to try them. The labels are the
    charts' selector labels (app.kubernetes.io/name and /instance)."""
    def pods(chart: str, release: str) -> dict:
        return {"matchLabels": {"app.kubernetes.io/name": chart, "app.kubernetes.io/instance": release}}

    store = pods("opensearch", store_release)
    return {
        "podSelector": store, "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": AGENT_NAMESPACE}},
                       "podSelector": pods("fluent-bit", agent_release)},
                      {"podSelector": pods("opensearch-dashboards", dashboards_release)}],
             "ports": [{"protocol": "TCP", "port": OPENSEARCH_PORT}]},
            {"from": [{"podSelector": store}], "ports": [{"protocol": "TCP", "port": 9300}]},
        ],
    }


class Logs(pulumi.ComponentResource):
    """Fluent Bit (namespace `logging`, `privileged`: it reads the nodes' /var/log), OpenSearch (its volume protected
    like the database) and its Dashboards (namespace `opensearch`, `restricted`). The admin password is generated,
    a Pulumi secret from birth, and reaches the pods only through Secrets."""

    def __init__(self, name: str, *, settings: LogsSettings, protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:logs:Logs", name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        password = random.RandomPassword(f"{name}-opensearch-admin", length=32, min_upper=2, min_lower=2,
                                         min_numeric=2, min_special=2, override_special="_-+=.", opts=kept)
        store_ns = namespace(STORE_NAMESPACE, level="restricted", opts=kept)
        agent_ns = namespace(AGENT_NAMESPACE, level="privileged", opts=pulumi.ResourceOptions(parent=self))
        secrets = [k8s.core.v1.Secret(
            f"{ADMIN_SECRET}-{ns_name}",
            metadata={"name": ADMIN_SECRET, "namespace": ns_name},
            string_data={"username": ADMIN_USER, "password": password.result}, type="Opaque",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]))
            for ns_name, ns in ((STORE_NAMESPACE, store_ns), (AGENT_NAMESPACE, agent_ns))]
        self.opensearch = charts.install(f"{name}-{OPENSEARCH_CHART}", settings.opensearch, namespace=STORE_NAMESPACE,
                                         values=opensearch_values(settings),
                                         opts=pulumi.ResourceOptions(parent=self, protect=protect,
                                                                     depends_on=[store_ns, secrets[0]]))
        self.dashboards = charts.install(f"{name}-{DASHBOARDS_CHART}", settings.dashboards, namespace=STORE_NAMESPACE,
                                         values=dashboards_values(),
                                         opts=pulumi.ResourceOptions(parent=self, depends_on=[secrets[0]]))
        self.policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-opensearch", metadata={"name": "opensearch", "namespace": STORE_NAMESPACE},
            spec=store_policy(f"{name}-{OPENSEARCH_CHART}", f"{name}-{FLUENT_BIT_CHART}",
                              f"{name}-{DASHBOARDS_CHART}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[store_ns]))
        self.fluent_bit = charts.install(f"{name}-{FLUENT_BIT_CHART}", settings.fluent_bit, namespace=AGENT_NAMESPACE,
                                         values=fluent_bit_values(),
                                         opts=pulumi.ResourceOptions(parent=self, depends_on=[agent_ns, secrets[1]]))
        self.opensearch_admin_password = password.result
        self.opensearch_url = f"https://{OPENSEARCH_HOST}:{OPENSEARCH_PORT}"
        self.register_outputs({"opensearch_admin_password": password.result, "opensearch_url": self.opensearch_url})
