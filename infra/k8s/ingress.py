"""Ingress through Emissary-ingress: a Host (TLS, http redirected to https) and a Mapping to the web Service."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

API_VERSION = "getambassador.io/v3alpha1"


class Ingress(pulumi.ComponentResource):
    """Routes https://hostname/ to `service_name.namespace:service_port`, terminating TLS with `tls_secret`; the
    Host and Mapping are named after `app`."""

    def __init__(
        self,
        name: str,
        *,
        app: str,
        namespace: pulumi.Input[str],
        hostname: str,
        service_name: pulumi.Input[str],
        service_port: int,
        tls_secret: pulumi.Input[str],
        timeout_ms: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:ingress:Ingress", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.host = k8s.apiextensions.CustomResource(
            name,
            api_version=API_VERSION,
            kind="Host",
            metadata={"name": app, "namespace": namespace},
            spec={
                "hostname": hostname,
                "tlsSecret": {"name": tls_secret},
                # cert-manager issues the certificate, not Emissary's own ACME client.
                "acmeProvider": {"authority": "none"},
                "requestPolicy": {"insecure": {"action": "Redirect"}},
            },
            opts=child,
        )
        self.service: pulumi.Output[str] = pulumi.Output.concat(service_name, ".", namespace, ":", str(service_port))
        self.mapping = k8s.apiextensions.CustomResource(
            f"{name}-web",
            api_version=API_VERSION,
            kind="Mapping",
            metadata={"name": f"{app}-web", "namespace": namespace},
            spec={"hostname": hostname, "prefix": "/", "service": self.service, "timeout_ms": timeout_ms},
            opts=child,
        )
        self.register_outputs({"service": self.service})
