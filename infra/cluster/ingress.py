"""Emissary-ingress: its CRDs, the controller, and the Listeners for HTTP (80) and HTTPS (443)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra import charts
from infra.charts import ChartSource
from infra.cluster.namespace import namespace

# Emissary 4 publishes its charts only as OCI artifacts, ghcr.io/emissary-ingress/emissary-crds-chart and
# .../emissary-ingress (release notes of v4.0.0: https://github.com/emissary-ingress/emissary/releases).
CRDS_CHART, CHART = "emissary-crds-chart", "emissary-ingress"
CHARTS = (CRDS_CHART, CHART)
NAMESPACE = "emissary"
# The chart's Service maps 80 -> 8080 and 443 -> 8443 (values.yaml `service.ports`); Listeners name the pod's ports.
LISTENERS = {"http": (8080, "HTTP"), "https": (8443, "HTTPS")}
REPLICAS = 2
_RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": 8888, "seccompProfile": {"type": "RuntimeDefault"}}
# Not a read-only root: Emissary writes its generated Envoy configuration and snapshots under /ambassador.
_RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                         "readOnlyRootFilesystem": False}


def crds_values() -> dict:
    """emissary-crds 4.1.0 values.yaml: `emissary.namespace` is where the (off by default) conversion webhook
    would live; legacy versions stay off, so the CRDs serve getambassador.io/v3alpha1 with no webhook."""
    return {"enableLegacyVersions": False, "emissary": {"namespace": NAMESPACE}}


def values(ingress_class: str) -> dict:
    """emissary-ingress 4.1.0 values.yaml keys; pods hardened to the `restricted` Pod Security profile."""
    return {
        "replicaCount": REPLICAS,
        "ingressClassResource": {"enabled": True, "name": ingress_class, "default": False},
        "security": {"podSecurityContext": _RESTRICTED_POD, "containerSecurityContext": _RESTRICTED_CONTAINER},
        "resources": {"requests": {"cpu": "200m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "podDisruptionBudget": {"minAvailable": 1},
    }


def listener(name: str, port: int, protocol: str) -> dict:
    """A Listener (getambassador.io/v3alpha1): Emissary listens on no port until one exists; XFP trusts the load
    balancer's X-Forwarded-Proto; Hosts of every namespace bind to it (the app's Host is in the app's namespace).
    The same specs as the chart's own templates/listener.yaml (`createDefaultListeners`, off by default).
    Reference (the same CRD in Ambassador Edge Stack): https://documentation.gravitee.io/edge-stack/
    technical-reference/using-custom-resources/the-listener-resource."""
    return {"port": port, "protocol": protocol, "securityModel": "XFP",
            "hostBinding": {"namespace": {"from": "ALL"}}}


class Emissary(pulumi.ComponentResource):
    """Emissary-ingress in namespace `emissary` at `restricted`: CRDs first (a release of their own, so that the
    controller and the Listeners are created only once helm has installed them), then the controller."""

    def __init__(self, name: str, *, sources: dict[str, ChartSource], ingress_class: str, protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:ingress:Emissary", name, None, opts)
        ns = namespace(NAMESPACE, level="restricted", opts=pulumi.ResourceOptions(parent=self, protect=protect))
        crds = charts.install(f"{name}-emissary-crds", sources[CRDS_CHART], namespace=ns.metadata.name,
                              values=crds_values(), opts=pulumi.ResourceOptions(parent=self, protect=protect))
        self.release = charts.install(f"{name}-emissary", sources[CHART], namespace=ns.metadata.name,
                                      values=values(ingress_class),
                                      opts=pulumi.ResourceOptions(parent=self, depends_on=[crds]))
        self.listeners = [
            k8s.apiextensions.CustomResource(
                f"{name}-listener-{port}", api_version="getambassador.io/v3alpha1", kind="Listener",
                metadata={"name": f"emissary-listener-{port}", "namespace": ns.metadata.name},
                spec=listener(key, port, protocol), opts=pulumi.ResourceOptions(parent=self, depends_on=[crds]))
            for key, (port, protocol) in LISTENERS.items()]
        self.namespace = ns.metadata.name
        self.ingress_class = pulumi.Output.from_input(ingress_class)
        self.register_outputs({"namespace": self.namespace, "ingress_class": self.ingress_class})
