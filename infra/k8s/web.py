"""The web tier: Deployment, ClusterIP Service, PodDisruptionBudget, optional HorizontalPodAutoscaler, NetworkPolicy."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import Check, Process
from infra.k8s import changes, workload
from infra.k8s.app_env import AppRuntime
from infra.k8s.settings import K8sSettings

SERVICE_PORT = 80
PROBES = {"startup": "startupProbe", "liveness": "livenessProbe", "readiness": "readinessProbe"}
# Without checks in app.json: Dokku's default is a container uptime check; here a TCP connect to PORT, as for any
# check without a path, with Dokku's CHECKS defaults (infra.contract.CHECK_DEFAULTS), so traffic waits for a listener.
DEFAULT_CHECKS = (Check("readiness", "", 30, 0, 5, 5), Check("liveness", "", 30, 0, 5, 10))
# A terminating pod still gets new connections until the endpoint controller and every node's kube-proxy (or the
# mesh's proxies) have dropped it; the kubelet sends SIGTERM at once, and the server closes its socket at once.
# So the web container sleeps first (preStop `sleep`, beta and on by default since Kubernetes 1.30, GA in 1.34:
# KEP-3960), and Linkerd's proxy outlives it (proxy-wait-before-exit-seconds, Linkerd "Graceful Pod Shutdown":
# the app's sleep shorter than the proxy's wait, both within terminationGracePeriodSeconds).
PRE_STOP_SLEEP_SECONDS = 5
PROXY_WAIT_BEFORE_EXIT_SECONDS = 15
# Heroku's 30 s from SIGTERM to SIGKILL (devcenter.heroku.com/articles/dynos#shutdown).
TERMINATION_GRACE_SECONDS = 30


def probe(check: Check) -> dict:
    """A Dokku healthcheck as a Kubernetes probe: path -> httpGet (tcpSocket without one), timeout ->
    timeoutSeconds, initialDelay -> initialDelaySeconds, attempts -> failureThreshold, wait -> periodSeconds."""
    headers = {"httpHeaders": [{"name": n, "value": v} for n, v in check.headers]} if check.headers else {}
    action = {"httpGet": {"path": check.path, "port": "http", **headers}} if check.path else {
        "tcpSocket": {"port": "http"}}
    return {**action, **({"initialDelaySeconds": check.initial_delay_s} if check.initial_delay_s else {}),
            "periodSeconds": check.wait_s, "timeoutSeconds": check.timeout_s, "failureThreshold": check.attempts}


def probes(process: Process) -> dict:
    return {PROBES[c.type]: probe(c) for c in process.checks or DEFAULT_CHECKS}


class WebApp(pulumi.ComponentResource):
    """The app's pods, rolled after `after` (the release Job) with zero unavailable, spread across nodes,
    behind `service_name:SERVICE_PORT`."""

    def __init__(
        self,
        name: str,
        *,
        namespace: pulumi.Input[str],
        image: pulumi.Input[str],
        runtime: AppRuntime,
        settings: K8sSettings,
        pull_secret: pulumi.Input[str] | None,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:web:WebApp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k, app = settings, runtime.app
        full = f"{name}-web"
        labels = workload.labels(app, "web")
        selector = workload.selector(app, "web")
        meta = {"name": f"{app}-web", "namespace": namespace, "labels": labels}

        spec = runtime.spec
        web = runtime.container(
            "web", image, spec.web, command=spec.web.command,
            ports=[{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
            lifecycle={"preStop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}},
            **probes(spec.web),
        )
        pod = runtime.pod(
            [web], image, pull_secret=pull_secret, terminationGracePeriodSeconds=TERMINATION_GRACE_SECONDS,
            topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                                        "labelSelector": {"matchLabels": selector}}
                                       for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")],
        )
        annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(spec.port),
                       "prometheus.io/path": spec.metrics_path} if spec.metrics_path else {}
        annotations.update(runtime.annotations())
        if k.linkerd_inject:
            annotations["config.alpha.linkerd.io/proxy-wait-before-exit-seconds"] = str(PROXY_WAIT_BEFORE_EXIT_SECONDS)
        self.deployment = k8s.apps.v1.Deployment(
            full,
            # Without the autoscaler the stack sets the replica count, and takes it back from the autoscaler's
            # field manager (kube-controller-manager, subresource scale) when the autoscaler is turned off:
            # pulumi-kubernetes forces server-side apply conflicts on a resource so annotated (Provider docs,
            # enablePatchForce; pulumi/pulumi#13321 shows the conflict otherwise).
            metadata={**meta, "annotations": {} if k.hpa_enabled else {"pulumi.com/patchForce": "true"}},
            spec={
                # With the autoscaler on, it owns the replica count; Pulumi would otherwise reset it on each update.
                **({} if k.hpa_enabled else {"replicas": k.replicas}),
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod},
            },
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=after,
                hooks=changes.before_update(f"{full}-autoscaler-handover", changes.check_autoscaler_handover,
                                            namespace=k.namespace, handover=k.hpa_handover)),
        )
        self.service = k8s.core.v1.Service(
            full,
            metadata=meta,
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]},
            opts=child,
        )
        k8s.policy.v1.PodDisruptionBudget(
            full, metadata=meta, spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}}, opts=child,
        )
        if k.hpa_enabled:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                full,
                metadata=meta,
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]},
                    "minReplicas": k.hpa_min_replicas,
                    "maxReplicas": k.hpa_max_replicas,
                    "metrics": [{"type": "Resource", "resource": {
                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": k.hpa_cpu_percent}}}],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment]),
            )
        # Only HTTP reaches the pods (from the ingress controller and Prometheus, in any namespace), through the
        # Linkerd proxy when meshed.
        k8s.networking.v1.NetworkPolicy(
            full,
            metadata=meta,
            spec={"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"],
                  "ingress": [{"ports": workload.ports(spec.port, meshed=k.linkerd_inject)}]},
            opts=child,
        )
        self.service_name: pulumi.Output[str] = self.service.metadata.name
        self.deployment_name: pulumi.Output[str] = self.deployment.metadata.name
        self.register_outputs({"service_name": self.service_name, "deployment_name": self.deployment_name})
