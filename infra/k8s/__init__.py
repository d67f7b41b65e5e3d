"""The k8s platform: namespace, PostgreSQL and its backups, image, release Job, web tier, workers, TLS and ingress."""

from __future__ import annotations

import dataclasses

import pulumi

from infra.k8s import settings
from infra.k8s.app_env import AppRuntime, AppSecrets
from infra.k8s.backup import DatabaseBackup
from infra.k8s.cluster import provider
from infra.k8s.image import AppImage
from infra.k8s.ingress import Ingress
from infra.k8s.namespace import Namespace
from infra.k8s.postgres import Database
from infra.k8s.release_job import ReleaseJob
from infra.k8s.tls import Tls
from infra.k8s.web import SERVICE_PORT, WebApp
from infra.k8s.worker import Worker, component
from infra.k8s.workload import DatabaseEnv
from infra.secrets import GeneratedSecrets, merged
from infra.settings import Settings

read_settings = settings.read


def deploy(s: Settings) -> None:
    """Create every k8s resource of the stack from its validated settings and the app's contract, then export how
    to operate it."""
    k, app = s.platform_settings, s.app
    spec = app.contract
    name = app.name
    asked = spec.web
    if asked.autoscaling or asked.quantity != 1:
        pulumi.log.warn(f"{spec.shown}/app.json formation.web: the stack's replicas and hpa_* settings decide the "
                        f"web pods ({'an autoscaler' if k.hpa_enabled else k.replicas}), not app.json's "
                        f"{'autoscaling' if asked.autoscaling else f'quantity {asked.quantity}'}.")
    k8s_provider = provider(k)
    opts = pulumi.ResourceOptions(providers=[k8s_provider]) if k8s_provider else None

    ns = Namespace(name, settings=k, protect=app.protect, opts=opts)
    db = Database(name, namespace=ns.name, settings=k, protect=app.protect,
                  workers=tuple(component(w.name) for w in spec.workers), opts=opts) if spec.database else None
    db_env = DatabaseEnv(host=db.host, database=k.postgres.database, user=k.postgres.user,
                         secret_name=db.secret_name, url_secret_name=db.url_secret_name) if db else None
    backup = (DatabaseBackup(name, namespace=ns.name, db=dataclasses.replace(db_env, url_secret_name=None),
                             settings=k, protect=app.protect, opts=opts)
              if db_env and k.backup.enabled else None)
    image = AppImage(name, namespace=ns.name, app=app, opts=opts)
    runtime = _runtime(name, s, ns, db_env, opts)
    after: list[pulumi.Resource] = [db.chart] if db else []
    if spec.release:
        release = ReleaseJob(name, namespace=ns.name, image=image.ref, runtime=runtime, command=spec.release,
                             pull_secret=image.pull_secret_name, timeout_s=k.release_timeout_s, after=after, opts=opts)
        after = [release.job]
    web = WebApp(name, namespace=ns.name, image=image.ref, runtime=runtime, settings=k,
                 pull_secret=image.pull_secret_name, after=after, opts=opts)
    for process in spec.workers:
        Worker(name, namespace=ns.name, image=image.ref, process=process, runtime=runtime,
               pull_secret=image.pull_secret_name, after=after, opts=opts)
    tls = Tls(name, namespace=ns.name, settings=k, opts=opts)
    Ingress(name, namespace=ns.name, hostname=k.hostname, service_name=web.service_name, service_port=SERVICE_PORT,
            tls_secret=tls.secret_name, timeout_ms=k.ingress_timeout_ms, opts=opts)
    _export(name, k, ns, db, image, web, backup)


def _runtime(name: str, s: Settings, ns: Namespace, db_env: DatabaseEnv | None,
             opts: pulumi.ResourceOptions | None) -> AppRuntime:
    """The app's variables on k8s: app.json's values, the stack's config vars over them, what the platform sets,
    and the secret ones (the stack's and the generated) from one Secret."""
    app, spec = s.app, s.app.contract
    plain = {**spec.plain_env, **app.config_vars, "LOG_LEVEL": app.log_level,
             "WEB_CONCURRENCY": str(app.web_concurrency)}
    generated = GeneratedSecrets(name, variables=[v.name for v in spec.generated], protect=app.protect,
                                 opts=opts).values if spec.generated else {}
    values = merged(app.secret_config_vars, generated)
    if values is None:
        return AppRuntime(spec=spec, db=db_env, plain=plain)
    secrets = AppSecrets(name, namespace=ns.name, values=values, opts=opts)
    return AppRuntime(spec=spec, db=db_env, plain=plain, secret_name=secrets.name,
                      secret_keys=tuple(sorted({*app.secret_config_names, *generated})))


def _export(name: str, k: settings.K8sSettings, ns: Namespace, db: Database | None, image: AppImage, web: WebApp,
            backup: DatabaseBackup | None) -> None:
    """The stack outputs: the app's address and the kubectl commands that operate it."""
    kubectl = pulumi.Output.concat("kubectl --namespace ", ns.name)
    deployment = pulumi.Output.concat("deployment/", web.deployment_name)
    pulumi.export("url", f"https://{k.hostname}/")
    pulumi.export("namespace", ns.name)
    pulumi.export("image", image.ref)
    if db is not None:
        pulumi.export("db_host", db.host)
        pulumi.export("db_name", k.postgres.database)
        pulumi.export("db_user", k.postgres.user)
        pulumi.export("db_password", db.password)
    scale_to = f" --replicas={k.replicas + 1}"  # an example: one pod more than the stack runs
    pulumi.export("kubectl_scale", pulumi.Output.concat(kubectl, " scale ", deployment, scale_to))
    pulumi.export("kubectl_rollout", pulumi.Output.concat(kubectl, " rollout status ", deployment))
    pulumi.export("kubectl_rollback", pulumi.Output.concat(kubectl, " rollout undo ", deployment))
    pulumi.export("kubectl_logs", pulumi.Output.concat(kubectl, " logs --follow --prefix ", deployment))
    if backup is not None:
        pulumi.export("kubectl_backup_now", pulumi.Output.concat(
            kubectl, " create job --from=cronjob/", backup.cron_job.metadata.name, " ", name, "-backup-manual"))
