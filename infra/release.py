"""The release Job: Heroku's release phase on Kubernetes, seeding the database with the new image before it rolls."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_kubernetes as k8s

from infra import workload


def job_name(app: str, image_ref: str) -> str:
    """One Job per image (Jobs are immutable): a new image gets a new name, hence a new run."""
    return f"{app}-release-{hashlib.sha256(image_ref.encode()).hexdigest()[:10]}"


class ReleaseJob(pulumi.ComponentResource):
    """Runs `command` once per image, after `after` (the database), and finishes before dependents of `job` start."""

    def __init__(
        self,
        name: str,
        *,
        namespace: pulumi.Input[str],
        image: pulumi.Input[str],
        db: workload.DatabaseEnv,
        extra_env: dict[str, str],
        command: list[str] | None = None,
        pull_secret: pulumi.Input[str] | None = None,
        ttl_seconds_after_finished: int = 3600,
        backoff_limit: int = 2,
        active_deadline_seconds: int = 1800,
        after: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:release:ReleaseJob", name, None, opts)
        labels = workload.labels(name, "release")
        seed = workload.container(
            "release", image, db, extra_env=extra_env, command=command or ["python", "-m", "actors.seed"],
            limits={"cpu": "1", "memory": "1Gi"},
        )
        self.job = k8s.batch.v1.Job(
            f"{name}-release",
            metadata={"name": pulumi.Output.from_input(image).apply(lambda ref: job_name(name, ref)),
                      "namespace": namespace, "labels": labels},
            spec={
                "ttlSecondsAfterFinished": ttl_seconds_after_finished,
                "backoffLimit": backoff_limit,
                "activeDeadlineSeconds": active_deadline_seconds,
                "template": {
                    # A meshed Job never completes: the Linkerd proxy would outlive the seed container.
                    "metadata": {"labels": labels, "annotations": {"linkerd.io/inject": "disabled"}},
                    "spec": workload.pod_spec([seed], pull_secret=pull_secret, restartPolicy="Never"),
                },
            },
            # A component's depends_on does not reach its children: the Job itself waits for `after`.
            opts=pulumi.ResourceOptions(parent=self, depends_on=after or []),
        )
        # Nothing connects to the seed Job: deny all ingress to its pods.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-release",
            metadata={"name": f"{name}-release", "namespace": namespace, "labels": labels},
            spec={"podSelector": {"matchLabels": workload.selector(name, "release")}, "policyTypes": ["Ingress"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = self.job.metadata.name
        self.register_outputs({"name": self.name})
