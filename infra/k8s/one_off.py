"""Heroku's one-off dynos on Kubernetes: app.json `cron` tasks as CronJobs, and `heroku run` as `kubectl run`.

Both run the app's image with the app's env, Secrets and hardened pod, as the release Job does, and are not meshed
(a meshed pod that runs to its end never completes: the Linkerd proxy outlives it).

- Scheduled (Heroku Scheduler's `scheduler.N` dynos, Dokku's cron tasks): one CronJob per app.json `cron` entry,
  as Dokku's k3s scheduler makes them (dokku `plugins/scheduler-k3s/templates/chart/cron-job.yaml`): UTC
  (`timeZone: Etc/UTC`), the entry's concurrency policy, Dokku's deadlines (`startingDeadlineSeconds` 60, a run
  at most 24 hours: `activeDeadlineSeconds` 86400, no retry: `backoffLimit` 0) and `suspend` for an entry in
  maintenance; the newest 3 finished runs of each kind are kept for `kubectl logs`.
- By hand (`heroku run`, devcenter.heroku.com/articles/one-off-dynos; `dokku run`): `OneOffRun.command` is one
  `kubectl run --rm -it` of a pod made like the web pod, which kubectl attaches to and deletes at the end.
"""

from __future__ import annotations

import hashlib
import json
import shlex

import pulumi
import pulumi_kubernetes as k8s

from infra.contract import CronTask
from infra.k8s import workload
from infra.k8s.app_env import AppRuntime

CRON, RUN = "cron", "run"  # the label components of the scheduled and the hand-run pods
POLICIES = {"allow": "Allow", "forbid": "Forbid", "replace": "Replace"}  # Dokku's names -> CronJob's
STARTING_DEADLINE_S = 60
RUN_DEADLINE_S = 86400
HISTORY = 3
UNMESHED = {"linkerd.io/inject": "disabled"}


def cron_job_name(app: str, task: CronTask) -> str:
    """A name per command and schedule (as Dokku's cron ids are), so that reordering app.json's list renames
    nothing; at most 52 characters, which a CronJob may have (its Jobs' names add 11)."""
    digest = hashlib.sha256(f"{task.command}\n{task.schedule}".encode()).hexdigest()[:10]
    return f"{app}-cron-{digest}"


class ScheduledTasks(pulumi.ComponentResource):
    """A CronJob per app.json `cron` task, after `after` (the release Job), and a NetworkPolicy that admits
    nothing to their pods."""

    def __init__(self, name: str, *, namespace: pulumi.Input[str], image: pulumi.Input[str], runtime: AppRuntime,
                 pull_secret: pulumi.Input[str] | None, after: list[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:one_off:ScheduledTasks", name, None, opts)
        app = runtime.app
        labels = workload.labels(app, CRON)
        self.cron_jobs: list[k8s.batch.v1.CronJob] = []
        for task in runtime.spec.cron:
            container = runtime.container(CRON, image, None, command=task.command, dyno="scheduler")
            self.cron_jobs.append(k8s.batch.v1.CronJob(
                cron_job_name(name, task),
                metadata={"name": cron_job_name(app, task), "namespace": namespace, "labels": labels,
                          "annotations": {"paasport/command": task.command}},
                spec={
                    "schedule": task.schedule,
                    "timeZone": "Etc/UTC",
                    "concurrencyPolicy": POLICIES[task.concurrency_policy],
                    "suspend": task.maintenance,
                    "startingDeadlineSeconds": STARTING_DEADLINE_S,
                    "successfulJobsHistoryLimit": HISTORY,
                    "failedJobsHistoryLimit": HISTORY,
                    "jobTemplate": {"spec": {
                        "backoffLimit": 0,
                        "activeDeadlineSeconds": RUN_DEADLINE_S,
                        "template": {
                            "metadata": {"labels": labels, "annotations": {**UNMESHED, **runtime.annotations()}},
                            "spec": runtime.pod([container], image, pull_secret=pull_secret, restartPolicy="Never"),
                        },
                    }},
                },
                # A component's depends_on does not reach its children: each CronJob waits for `after` itself.
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            ))
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{CRON}", metadata={"name": f"{app}-{CRON}", "namespace": namespace, "labels": labels},
            spec={"podSelector": {"matchLabels": workload.selector(app, CRON)}, "policyTypes": ["Ingress"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"names": [job.metadata.name for job in self.cron_jobs]})


class OneOffRun(pulumi.ComponentResource):
    """`command`: `kubectl run` of a one-off pod made like the web pod (image, env, Secrets, hardening, writable
    volumes), DYNO=run.<pod>, attached and deleted when its command ends; `sh` unless the user puts another command
    after `--`. kubectl makes a container named after the pod, with the command as its args (the image's ENTRYPOINT
    stays, as for the Procfile's commands), and merges the overrides into that pod by the strategic merge patch,
    which merges containers, init containers and volumes by name (kubectl `run --override-type=strategic`;
    k8s.io/api core/v1 PodSpec `patchMergeKey:"name"`). A NetworkPolicy admits nothing to such pods."""

    def __init__(self, name: str, *, namespace: pulumi.Input[str], image: pulumi.Input[str], runtime: AppRuntime,
                 pull_secret: pulumi.Input[str] | None, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:one_off:OneOffRun", name, None, opts)
        pod_name = f"{runtime.app}-{RUN}"
        labels = workload.labels(runtime.app, RUN)
        container = {**runtime.container(pod_name, image, None, command=None, dyno=RUN), "stdin": True, "tty": True}
        overrides = {
            "apiVersion": "v1",
            "metadata": {"labels": labels, "annotations": {
                **UNMESHED, **runtime.annotations(),
                # Checkov reads these: an interactive one-off process serves no port (Heroku does not probe one).
                "checkov.io/skip1": "CKV_K8S_8=a one-off process serves no port: nothing to probe",
                "checkov.io/skip2": "CKV_K8S_9=a one-off process serves no port: nothing to probe"}},
            "spec": runtime.pod([container], image, pull_secret=pull_secret, restartPolicy="Never"),
        }
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{RUN}", metadata={"name": pod_name, "namespace": namespace, "labels": labels},
            spec={"podSelector": {"matchLabels": workload.selector(runtime.app, RUN)}, "policyTypes": ["Ingress"]},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.command: pulumi.Output[str] = pulumi.Output.all(namespace, image, overrides).apply(
            lambda parts: shlex.join([
                "kubectl", "--namespace", parts[0], "run", pod_name, "--rm", "-it", "--restart=Never",
                f"--image={parts[1]}", "--override-type=strategic",
                f"--overrides={json.dumps(parts[2], separators=(',', ':'), sort_keys=True)}", "--", "sh"]))
        self.register_outputs({"command": self.command})
