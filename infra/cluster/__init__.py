"""The cluster platform: what a bare cluster needs before `pulumi up --stack k8s`, each part behind a setting.

Parts, each a ComponentResource `paasport:<module>:<Type>` in a module of its own, in the order they install:
  ingress.Emissary            Emissary-ingress CRDs, controller, Listeners for 80 and 443 (emissary_*)
  tls.CertManager             cert-manager with its CRDs, Let's Encrypt ClusterIssuers (cert_manager_*, acme_email)
  linkerd.Linkerd             Linkerd CRDs (and the Gateway API's), CNI plugin, control plane, its certificates
                              (linkerd_*)
  metrics_server.MetricsServer  metrics-server (metrics_server_*)
  metrics.Metrics             Prometheus and Grafana with the app's dashboard (metrics_*, prometheus_*, grafana_*)
  logs.Logs                   Fluent Bit on every node, OpenSearch and its Dashboards (logs_*, fluent_bit_*,
                              opensearch_*)

How a part plugs in (metrics.py, logs.py):
  - settings: the module exposes `CHARTS` (the chart names it installs) and, when it has settings of its own,
    `read_settings(r: Reader) -> <its typed section>`; settings.read calls `_part(r, "<part>", module.CHARTS,
    "<example version>")` for the chart sources (None when `<part>_enabled` is false) and `read_settings(r)`,
    and keeps both in ClusterSettings. Each key and its one default go in Pulumi.yaml (`[cluster]` in the text).
  - resources: a ComponentResource `Part(name, *, sources: dict[str, ChartSource], settings: <section>,
    protect: bool, opts)`; it makes its namespace with `namespace.namespace(NAME, level=...)` at the lowest Pod
    Security level its pods pass, and installs each chart with `charts.install(f"{name}-<chart>", sources[CHART],
    namespace=..., values=..., opts=...)`. What holds data (volumes, the namespace around them) gets
    `protect=protect`. `deploy` below creates it when its section is on.
"""

from __future__ import annotations

import pulumi

from infra.cluster import settings
from infra.cluster.ingress import Emissary
from infra.cluster.linkerd import Linkerd
from infra.cluster.logs import Logs
from infra.cluster.metrics import Metrics
from infra.cluster.metrics_server import MetricsServer
from infra.cluster.settings import ClusterSettings
from infra.cluster.tls import CertManager
from infra.k8s.cluster import provider
from infra.settings import Settings

read_settings = settings.read


def deploy(s: Settings) -> None:
    """Install every part that is on, then export what the k8s stack's settings must agree with."""
    c: ClusterSettings = s.platform_settings
    name = s.app.name
    k8s_provider = provider(c)
    opts = pulumi.ResourceOptions(providers=[k8s_provider]) if k8s_provider else None
    protect = c.protect
    if c.emissary is not None:
        emissary = Emissary(name, sources=c.emissary, ingress_class=c.ingress_class, protect=protect, opts=opts)
        pulumi.export("ingress_class", emissary.ingress_class)
    if c.cert_manager is not None:
        cert_manager = CertManager(name, sources=c.cert_manager, acme_email=c.acme_email,
                                   ingress_class=c.ingress_class, protect=protect, opts=opts)
        pulumi.export("cluster_issuers", list(cert_manager.issuers))
    if c.linkerd is not None:
        linkerd = Linkerd(name, sources=c.linkerd, anchors=c.linkerd_trust_anchors,
                          gateway_api=c.linkerd_gateway_api, protect=protect, opts=opts)
        pulumi.export("linkerd_trust_anchor", linkerd.trust_anchor)
    if c.metrics_server is not None:
        MetricsServer(name, sources=c.metrics_server, protect=protect, opts=opts)
    if c.metrics is not None:
        observed = Metrics(name, settings=c.metrics, protect=protect, opts=opts)
        pulumi.export("prometheus_url", observed.prometheus_url)
        pulumi.export("grafana_admin_password", observed.grafana_admin_password)
    if c.logs is not None:
        logged = Logs(name, settings=c.logs, protect=protect, opts=opts)
        pulumi.export("opensearch_url", logged.opensearch_url)
        pulumi.export("opensearch_admin_password", logged.opensearch_admin_password)
