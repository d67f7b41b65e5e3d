"""Scheduled PostgreSQL backups on Kubernetes: a CronJob runs `pg_dump` into a PersistentVolumeClaim.

Heroku Postgres backs itself up (Continuous Protection on Standard plans and up, `pg:backups:schedule` on any
plan); the Bitnami chart does not, so the k8s stack does: one custom-format dump per run, the newest `keep` kept.
The dump runs the database's own image, so `pg_dump` always matches the server's major version.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra.k8s import changes, workload
from infra.k8s.settings import K8sSettings

MOUNT = "/backups"
# POSIX sh (the image's /bin/sh): dump to a partial file, rename it when complete, then prune the oldest dumps.
# File names sort by time, so "newest KEEP" is the last KEEP names.
SCRIPT = """set -eu
export PATH="/opt/bitnami/postgresql/bin:$PATH"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
pg_dump --format=custom --no-owner --file="$BACKUP_DIR/.partial.dump"
mv "$BACKUP_DIR/.partial.dump" "$BACKUP_DIR/$PGDATABASE-$stamp.dump"
ls -1 "$BACKUP_DIR"/"$PGDATABASE"-*.dump | sort -r | tail -n +$((BACKUP_KEEP + 1)) | xargs -r rm -f --
echo "backup: wrote $PGDATABASE-$stamp.dump, keeping the newest $BACKUP_KEEP"
"""


class DatabaseBackup(pulumi.ComponentResource):
    """Dumps the app's database on `backup_schedule` (cron, UTC) to a volume of its own, keeping the newest
    `backup_keep` dumps; with `protect`, Pulumi refuses to delete or replace that volume."""

    def __init__(self, name: str, *, namespace: pulumi.Input[str], db: workload.DatabaseEnv, settings: K8sSettings,
                 protect: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:backup:DatabaseBackup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pg, backup = settings.postgres, settings.backup
        full, app = f"{name}-backup", settings.app_name
        labels = workload.labels(app, "backup")
        meta = {"name": f"{app}-backup", "namespace": namespace, "labels": labels}
        self.claim = k8s.core.v1.PersistentVolumeClaim(
            full,
            metadata=meta,
            spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": backup.storage_size}},
                  **({"storageClassName": pg.storage_class} if pg.storage_class else {})},
            opts=pulumi.ResourceOptions(
                parent=self, protect=protect,
                hooks=changes.before_update(f"{full}-volume-size", changes.check_volume_shrink)),
        )
        dump = workload.container(
            "pg-dump", f"{pg.image_registry}/{pg.image_repository}:{pg.image_tag}",
            workload.env(db, {"BACKUP_DIR": MOUNT, "BACKUP_KEEP": str(backup.keep)}),
            command=["/bin/sh", "-c", SCRIPT], requests={"cpu": "100m", "memory": "128Mi"},
            limits={"cpu": "1", "memory": "512Mi"}, mounts=[{"name": "backups", "mountPath": MOUNT}],
        )
        pod = workload.pod_spec(
            [dump], restartPolicy="Never",
            volumes=[{"name": "backups", "persistentVolumeClaim": {"claimName": self.claim.metadata.name}}],
        )
        self.cron_job = k8s.batch.v1.CronJob(
            full,
            metadata={**meta, "annotations": {
                # Checkov reads this: the dump runs the database image, pinned by the tag the chart runs.
                "checkov.io/skip1": "CKV_K8S_43=the PostgreSQL image is pinned by postgres_image_tag, as the chart's",
            }},
            spec={
                "schedule": backup.schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 3600,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 3600,
                    "template": {
                        # A meshed Job never completes: the Linkerd proxy would outlive pg_dump.
                        "metadata": {"labels": labels, "annotations": {"linkerd.io/inject": "disabled"}},
                        "spec": pod,
                    },
                }},
            },
            opts=child,
        )
        # Nothing connects to the backup pods: deny all ingress to them.
        k8s.networking.v1.NetworkPolicy(
            full,
            metadata=meta,
            spec={"podSelector": {"matchLabels": workload.selector(app, "backup")}, "policyTypes": ["Ingress"]},
            opts=child,
        )
        self.claim_name: pulumi.Output[str] = self.claim.metadata.name
        self.register_outputs({"claim_name": self.claim_name})
