"""A worker process type of the app's Procfile: a Deployment without a Service, as Heroku runs a worker dyno.

Nothing routes to a worker (Heroku routes HTTP to web dynos only), so it gets no Service and a NetworkPolicy that
admits nothing. Its quantity is app.json's `formation.<type>.quantity`; with Dokku's `autoscaling`, a
HorizontalPodAutoscaler on CPU between `min_quantity` and `max_quantity` owns the replica count instead.

Its objects are named `<app_name>-<type>` (`shop-worker`), and `<app_name>-worker-<type>` for a type spelled like
one of the stack's own objects (`OWN_NAMES`). Before, every worker was `<app_name>-worker-<type>`
(`paasport-worker-worker`): Pulumi's aliases keep those resources (`renamed_from`), and the first `pulumi up` replaces
each Deployment by one with the new name, new pods first (Kubernetes renames nothing; pulumi-kubernetes creates a
renamed object before it deletes the old one), so the worker never stops; for that while both run.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import Process, dns_name
from infra.k8s import workload
from infra.k8s.app_env import AppRuntime

# The stack's own objects beside the processes (infra/k8s: web, release, backup, postgresql, and the one-off
# pods' cron and run), each with a NetworkPolicy `<app_name>-<name>` that a worker's would collide with.
OWN_NAMES = ("web", "release", "backup", "postgresql", "cron", "run")


def component(process: str) -> str:
    """The label component of a worker: apart from the stack's own (web, release, backup), DNS-label safe."""
    return f"worker-{dns_name(process)}"


def suffix(process: str) -> str:
    """What a worker's names end with: its type, once, or `worker-<type>` for a type spelled like OWN_NAMES."""
    return component(process) if dns_name(process) in OWN_NAMES else dns_name(process)


def renamed_from(name: str, process: str) -> list[pulumi.Alias]:
    """The alias of a worker's resource that stacks made before `suffix` registered as `<name>-worker-<type>`."""
    old = f"{name}-{component(process)}"
    return [] if old == f"{name}-{suffix(process)}" else [pulumi.Alias(name=old)]


class Worker(pulumi.ComponentResource):
    """Runs `process` after `after` (the release Job), rolled like web: one new pod before an old one stops."""

    def __init__(self, name: str, *, namespace: pulumi.Input[str], image: pulumi.Input[str], process: Process,
                 runtime: AppRuntime, pull_secret: pulumi.Input[str] | None, after: list[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        full, aliases = f"{name}-{suffix(process.name)}", renamed_from(name, process.name)
        super().__init__("paasport:worker:Worker", full, None,
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)))
        child = pulumi.ResourceOptions(parent=self, aliases=aliases)
        app = runtime.app
        labels = workload.labels(app, component(process.name))
        selector = workload.selector(app, component(process.name))
        meta = {"name": f"{app}-{suffix(process.name)}", "namespace": namespace, "labels": labels}
        # Heroku's 30 s from SIGTERM to SIGKILL (devcenter.heroku.com/articles/dynos#shutdown).
        pod = runtime.pod([runtime.container(process.name, image, process, command=process.command)], image,
                          pull_secret=pull_secret, terminationGracePeriodSeconds=30)
        scaling = process.autoscaling
        self.deployment = k8s.apps.v1.Deployment(
            full,
            metadata={**meta, "annotations": {
                # Checkov reads these: nothing listens in a worker, so there is no HTTP or TCP endpoint to probe.
                "checkov.io/skip1": "CKV_K8S_8=a worker serves no port (Heroku routes to web only): nothing to probe",
                "checkov.io/skip2": "CKV_K8S_9=a worker serves no port (Heroku routes to web only): nothing to probe",
            }},
            spec={
                **({} if scaling else {"replicas": process.quantity}),
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {"metadata": {"labels": labels, "annotations": runtime.annotations()}, "spec": pod},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=after, aliases=aliases),
        )
        if scaling:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                full, metadata=meta,
                spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]},
                      "minReplicas": scaling.min_quantity, "maxReplicas": scaling.max_quantity,
                      "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                          "type": "Utilization", "averageUtilization": scaling.cpu_percent}}}]},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment], aliases=aliases),
            )
        k8s.networking.v1.NetworkPolicy(
            full, metadata=meta,
            spec={"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"]}, opts=child,
        )
        self.deployment_name: pulumi.Output[str] = self.deployment.metadata.name
        self.register_outputs({"deployment_name": self.deployment_name})
