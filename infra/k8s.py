"""The k8s platform's composition: namespace, database and its backups, image, release Job, web tier, TLS, ingress."""

from __future__ import annotations

import pulumi

from infra.backup import DatabaseBackup
from infra.cluster import provider
from infra.database import Database
from infra.image import AppImage
from infra.ingress import Ingress
from infra.namespace import Namespace
from infra.release import ReleaseJob
from infra.settings import Settings
from infra.tls import Tls
from infra.web import SERVICE_PORT, WebApp
from infra.workload import DatabaseEnv, labels, selector


def deploy(s: Settings) -> None:
    """The k8s platform: namespace, database and its backups, image, release Job, web tier, TLS and ingress."""
    k, app = s.k8s, s.app
    name = app.name
    k8s_provider = provider(k)
    opts = pulumi.ResourceOptions(providers=[k8s_provider]) if k8s_provider else None

    clients = ["web", "release"] + (["backup"] if k.backup.enabled else [])
    ns = Namespace(name, namespace=k.namespace, linkerd_inject=k.linkerd_inject, labels=labels(name, "namespace"),
                   opts=opts)
    db = Database(
        name, namespace=ns.name, database=k.postgres.database, user=k.postgres.user,
        client_selectors=[selector(name, component) for component in clients],
        chart_version=k.postgres.chart_version, image_registry=k.postgres.image_registry,
        image_repository=k.postgres.image_repository, image_tag=k.postgres.image_tag,
        storage_size=k.postgres.storage_size, storage_class=k.postgres.storage_class, metrics=k.postgres.metrics,
        template_locally=bool(k.render_dir), opts=opts,
    )
    db_env = DatabaseEnv(host=db.host, database=k.postgres.database, user=k.postgres.user, secret_name=db.secret_name)
    if k.backup.enabled:
        pg = k.postgres
        backup = DatabaseBackup(
            name, namespace=ns.name, image=f"{pg.image_registry}/{pg.image_repository}:{pg.image_tag}", db=db_env,
            schedule=k.backup.schedule, keep=k.backup.keep, storage_size=k.backup.storage_size,
            storage_class=pg.storage_class, opts=opts,
        )
    image = AppImage(name, namespace=ns.name, image=app.image, registry=app.registry,
                     username=app.registry_username, password=app.registry_password, opts=opts)
    app_env = {"LOG_LEVEL": app.log_level, "WEB_CONCURRENCY": str(app.web_concurrency)}
    release_env = {**app_env, **({"SEED_ARCHIVE": app.seed_archive} if app.seed_archive else {})}
    release = ReleaseJob(
        name, namespace=ns.name, image=image.ref, db=db_env, extra_env=release_env,
        pull_secret=image.pull_secret_name, after=[db.chart], opts=opts,
    )
    web = WebApp(
        name, namespace=ns.name, image=image.ref, db=db_env, extra_env=app_env, replicas=k.replicas,
        hpa_enabled=k.hpa_enabled, hpa_min_replicas=k.hpa_min_replicas, hpa_max_replicas=k.hpa_max_replicas,
        hpa_cpu_percent=k.hpa_cpu_percent, pull_secret=image.pull_secret_name, after=[release.job], opts=opts,
    )
    tls = Tls(name, namespace=ns.name, hostname=k.hostname, issuer=k.tls_issuer, acme_email=k.acme_email,
              acme_server=k.acme_server, ingress_class=k.ingress_class, opts=opts)
    Ingress(name, namespace=ns.name, hostname=k.hostname, service_name=web.service_name, service_port=SERVICE_PORT,
            tls_secret=tls.secret_name, timeout_ms=k.ingress_timeout_ms, opts=opts)

    kubectl = pulumi.Output.concat("kubectl --namespace ", ns.name)
    deployment = pulumi.Output.concat("deployment/", web.deployment_name)
    pulumi.export("url", f"https://{k.hostname}/")
    pulumi.export("namespace", ns.name)
    pulumi.export("image", image.ref)
    pulumi.export("db_host", db.host)
    pulumi.export("db_password", db.password)
    pulumi.export("kubectl_scale", pulumi.Output.concat(kubectl, " scale ", deployment, " --replicas=3"))
    pulumi.export("kubectl_rollout", pulumi.Output.concat(kubectl, " rollout status ", deployment))
    pulumi.export("kubectl_rollback", pulumi.Output.concat(kubectl, " rollout undo ", deployment))
    pulumi.export("kubectl_logs", pulumi.Output.concat(kubectl, " logs --follow --prefix ", deployment))
    if k.backup.enabled:
        pulumi.export("kubectl_backup_now", pulumi.Output.concat(
            kubectl, " create job --from=cronjob/", backup.cron_job.metadata.name, " ", name, "-backup-manual"))
