"""The release Job: Heroku's release phase on Kubernetes, the Procfile's `release` command run with the new image
before it rolls."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_kubernetes as k8s

from infra.k8s import workload
from infra.k8s.app_env import AppRuntime

# Room for pulling the image and scheduling the pod, which the Job's own deadline also counts, before Pulumi stops
# waiting: the Job fails by its deadline first, so `pulumi up` reports the Job's failure, not a timeout.
AWAIT_MARGIN_S = 120


def job_name(app: str, image_ref: str) -> str:
    """One Job per image (Jobs are immutable): a new image gets a new name, hence a new run."""
    return f"{app}-release-{hashlib.sha256(image_ref.encode()).hexdigest()[:10]}"


class ReleaseJob(pulumi.ComponentResource):
    """Runs `command` once per image, after `after` (the database); dependents of `job` start once it succeeded.

    `timeout_s` is the Job's `activeDeadlineSeconds` (all tries together), and Pulumi waits that long plus a
    margin (`pulumi.com/timeoutSeconds`; pulumi-kubernetes otherwise waits 10 minutes for a Job,
    `provider/pkg/await/job.go` DefaultJobTimeoutMins). Finished Jobs stay: Pulumi owns their lifecycle and
    replaces the Job when the image changes, so no `ttlSecondsAfterFinished` deletes it behind Pulumi's back (a
    deleted Job would drop out of state at `pulumi refresh`, and the next `up` would seed again).
    """

    def __init__(
        self,
        name: str,
        *,
        namespace: pulumi.Input[str],
        image: pulumi.Input[str],
        runtime: AppRuntime,
        command: str,
        pull_secret: pulumi.Input[str] | None,
        timeout_s: int,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:release:ReleaseJob", name, None, opts)
        app = runtime.app
        labels = workload.labels(app, "release")
        seed = runtime.container("release", image, None, command=command, limits={"cpu": "1", "memory": "1Gi"})
        self.job = k8s.batch.v1.Job(
            f"{name}-release",
            metadata={"name": pulumi.Output.from_input(image).apply(lambda ref: job_name(app, ref)),
                      "namespace": namespace, "labels": labels,
                      # A failed Job stays in the state; with replaceUnready the next `up` replaces it (delete,
                      # then create: it is named) and the seed runs again, instead of failing on the old one
                      # (pulumi-kubernetes `provider/pkg/provider/provider.go` Diff, metadata.ReplaceUnready).
                      "annotations": {"pulumi.com/timeoutSeconds": str(timeout_s + AWAIT_MARGIN_S),
                                      "pulumi.com/replaceUnready": "true"}},
            spec={
                "backoffLimit": 2,
                "activeDeadlineSeconds": timeout_s,
                "template": {
                    # A meshed Job never completes: the Linkerd proxy would outlive the release container.
                    "metadata": {"labels": labels,
                                 "annotations": {"linkerd.io/inject": "disabled", **runtime.annotations()}},
                    "spec": runtime.pod([seed], image, pull_secret=pull_secret, restartPolicy="Never"),
                },
            },
            # A component's depends_on does not reach its children: the Job itself waits for `after`.
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        # Nothing connects to the release Job: deny all ingress to its pods.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-release",
            metadata={"name": f"{app}-release", "namespace": namespace, "labels": labels},
            spec={"podSelector": {"matchLabels": workload.selector(app, "release")}, "policyTypes": ["Ingress"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = self.job.metadata.name
        self.register_outputs({"name": self.name})
