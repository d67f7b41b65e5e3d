"""The k8s platform: namespace, PostgreSQL and its backups, image, release Job, web tier, workers, scheduled tasks,
TLS and ingress."""

from __future__ import annotations

import dataclasses

import pulumi

from infra import node_postgres
from infra.k8s import one_off, process, settings
from infra.k8s.app_env import AppRuntime, AppSecrets, SecretDigest, shell_less_base
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
from infra.k8s.workload import SSLMODE, DatabaseEnv
from infra.secrets import GeneratedSecrets, merged
from infra.settings import Settings

read_settings = settings.read


def deploy(s: Settings) -> None:
    """Create every k8s resource of the stack from its validated settings and the app's contract, then export how
    to operate it."""
    k, app = s.platform_settings, s.app
    spec = app.contract
    name = app.name  # Pulumi's names (URNs) stay the project's; the cluster's objects carry `app_name` (k.app_name)
    asked = spec.web
    if asked.autoscaling or asked.quantity != 1:
        pulumi.log.warn(f"{spec.shown}/app.json formation.web: the stack's replicas and hpa_* settings decide the "
                        f"web pods ({'an autoscaler' if k.hpa_enabled else k.replicas}), not app.json's "
                        f"{'autoscaling' if asked.autoscaling else f'quantity {asked.quantity}'}.")
    if spec.read_only_root and (base := shell_less_base(spec.directory)):
        pulumi.log.warn(f"{spec.shown}/Dockerfile: its base ({base}) has no shell or cp, so the files the image "
                        f"holds under {', '.join(('/tmp', *spec.writable_paths))} are not copied into the pod's "  # noqa: S108
                        "writable volumes there: the app finds them empty. Put such files elsewhere in the image, "
                        "or set app.json paasport.read_only_root to false.")
    for warning in (process.user_warning(spec), *(process.start_warning(spec, p) for p in spec.processes.values()),
                    node_postgres.warning(spec, SSLMODE, "k8s")):
        if warning:
            pulumi.log.warn(warning)
    k8s_provider = provider(k)
    opts = pulumi.ResourceOptions(providers=[k8s_provider]) if k8s_provider else None

    ns = Namespace(name, settings=k, protect=app.protect, opts=opts)
    clients = (*(component(w.name) for w in spec.workers), *([one_off.CRON] if spec.cron else []), one_off.RUN)
    db = Database(name, namespace=ns.name, settings=k, protect=app.protect, clients=clients,
                  opts=opts) if spec.database else None
    db_env = DatabaseEnv(host=db.host, database=k.postgres.database, user=k.postgres.user,
                         secret_name=db.secret_name, url_secret_name=db.url_secret_name) if db else None
    backup = (DatabaseBackup(name, namespace=ns.name, db=dataclasses.replace(db_env, url_secret_name=None),
                             settings=k, protect=app.protect, opts=opts)
              if db_env and k.backup.enabled else None)
    image = AppImage(name, app_name=k.app_name, namespace=ns.name, app=app, opts=opts)
    runtime = _runtime(name, s, ns, db, db_env, image, opts)
    after: list[pulumi.Resource] = [db.chart] if db else []
    if spec.release:
        release = ReleaseJob(name, namespace=ns.name, image=image.ref, runtime=runtime, command=spec.release,
                             pull_secret=image.pull_secret_name, timeout_s=k.release_timeout_s, after=after, opts=opts)
        after = [release.job]
    web = WebApp(name, namespace=ns.name, image=image.ref, runtime=runtime, settings=k,
                 pull_secret=image.pull_secret_name, after=after, opts=opts)
    for worker in spec.workers:
        Worker(name, namespace=ns.name, image=image.ref, process=worker, runtime=runtime,
               pull_secret=image.pull_secret_name, after=after, opts=opts)
    if spec.cron:
        one_off.ScheduledTasks(name, namespace=ns.name, image=image.ref, runtime=runtime,
                               pull_secret=image.pull_secret_name, after=after, opts=opts)
    tls = Tls(name, namespace=ns.name, settings=k, opts=opts)
    Ingress(name, app=k.app_name, namespace=ns.name, hostname=k.hostname, service_name=web.service_name,
            service_port=SERVICE_PORT, tls_secret=tls.secret_name, timeout_ms=k.ingress_timeout_ms, opts=opts)
    run = one_off.OneOffRun(name, namespace=ns.name, image=image.ref, runtime=runtime,
                            pull_secret=image.pull_secret_name, opts=opts)
    _export(k, ns, db, image, web, backup, run.command)


def _runtime(name: str, s: Settings, ns: Namespace, db: Database | None, db_env: DatabaseEnv | None,
             image: AppImage, opts: pulumi.ResourceOptions | None) -> AppRuntime:
    """The app's variables on k8s: app.json's values, the stack's config vars over them, what the platform sets,
    and the secret ones (the stack's and the generated) from one Secret; and the digest of every Secret the app's
    pods read, which rolls them when one changes."""
    app, spec = s.app, s.app.contract
    plain = {**spec.plain_env, **app.config_vars, "LOG_LEVEL": app.log_level,
             "WEB_CONCURRENCY": str(app.web_concurrency)}
    generated = GeneratedSecrets(name, variables=[v.name for v in spec.generated], protect=app.protect,
                                 opts=opts).values if spec.generated else {}
    values = merged(app.secret_config_vars, generated)
    app_name = s.platform_settings.app_name
    secrets = AppSecrets(name, app=app_name, namespace=ns.name, values=values, opts=opts) if values is not None \
        else None
    contents = [*(db.secret_contents if db else []), *([secrets.values] if secrets else []),
                *([image.pull_secret_contents] if image.pull_secret_contents is not None else [])]
    digest = SecretDigest(name, contents=contents, opts=opts).value if contents else None
    if secrets is None:
        return AppRuntime(app=app_name, spec=spec, db=db_env, plain=plain, digest=digest)
    return AppRuntime(app=app_name, spec=spec, db=db_env, plain=plain, secret_name=secrets.name,
                      secret_keys=tuple(sorted({*app.secret_config_names, *generated})), digest=digest)


def _export(k: settings.K8sSettings, ns: Namespace, db: Database | None, image: AppImage, web: WebApp,
            backup: DatabaseBackup | None, run: pulumi.Output[str]) -> None:
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
    pulumi.export("kubectl_run", run)
    if backup is not None:
        # A Job name is used once: each run gets its own, stamped to the second (the shell expands $(date)).
        pulumi.export("kubectl_backup_now", pulumi.Output.concat(
            kubectl, " create job --from=cronjob/", backup.cron_job.metadata.name, " ", k.app_name,
            "-backup-manual-$(date -u +%Y%m%d-%H%M%S)"))
