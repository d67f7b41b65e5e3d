"""metrics-server: the resource metrics API (metrics.k8s.io) a HorizontalPodAutoscaler reads CPU from."""

from __future__ import annotations

import pulumi

from infra import charts
from infra.charts import ChartSource
from infra.cluster.namespace import namespace

CHART = "metrics-server"
CHARTS = (CHART,)
NAMESPACE = "metrics-server"


def values() -> dict:
    """metrics-server 3.13.1 values.yaml keys (its defaults already meet `restricted`: non-root, read-only root,
    no capabilities, RuntimeDefault seccomp)."""
    return {"resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "400Mi"}}}


class MetricsServer(pulumi.ComponentResource):
    """metrics-server in namespace `metrics-server` at `restricted`."""

    def __init__(self, name: str, *, sources: dict[str, ChartSource], protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:metricsserver:MetricsServer", name, None, opts)
        ns = namespace(NAMESPACE, level="restricted", opts=pulumi.ResourceOptions(parent=self, protect=protect))
        self.release = charts.install(f"{name}-metrics-server", sources[CHART], namespace=ns.metadata.name,
                                      values=values(), opts=pulumi.ResourceOptions(parent=self))
        self.namespace = ns.metadata.name
        self.register_outputs({"namespace": self.namespace})
