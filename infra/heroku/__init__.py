"""The heroku platform: app, Heroku Postgres, build or registry release, formation, features, domain, log drain."""

from __future__ import annotations

import pulumi

from infra import contract, node_postgres
from infra.heroku import scheduler, settings
from infra.heroku.app import HerokuApp
from infra.heroku.build import HerokuBuild
from infra.heroku.domain import CustomDomain
from infra.heroku.features import PREBOOT, RUNTIME_METRICS, AppFeatures
from infra.heroku.formation import ProcessFormation, WebFormation
from infra.heroku.log_drain import LogDrain
from infra.heroku.plans import DYNO_SIZES, PRICES_AS_OF, PRICES_SOURCE, has_continuous_protection, monthly_cost_usd
from infra.heroku.postgres import HerokuPostgres
from infra.heroku.registry import RegistryRelease
from infra.heroku.settings import HerokuSettings
from infra.secrets import GeneratedSecrets, merged
from infra.settings import Settings

read_settings = settings.read
# Heroku Postgres takes TLS connections only; this makes any libpq client ask for it, unless the app sets PGSSLMODE
# itself (node-postgres reads its own values there, e.g. no-verify: infra/node_postgres.py).
SSLMODE = "require"


def app_config_vars(s: Settings) -> dict[str, str]:
    """The app's plain config vars: app.json's env values, the stack's `config_vars` over them, and what the
    platform gives every app (no buildpack sets WEB_CONCURRENCY for container apps, so the dyno size does)."""
    h, app = s.platform_settings, s.app
    spec = app.contract
    return {
        **({"PGSSLMODE": SSLMODE} if spec is None or spec.database else {}),
        **(spec.plain_env if spec else {}),
        **app.config_vars,
        "LOG_LEVEL": app.log_level,
        "WEB_CONCURRENCY": str(DYNO_SIZES[h.dyno_size].web_concurrency),
    }


def warn_unmatched(spec: contract.AppSpec, h: HerokuSettings) -> None:
    """What the app's contract asks for and Heroku cannot give: said at preview, and in the parity table."""
    for process in spec.processes.values():
        if process.checks:
            pulumi.log.warn(f"{spec.shown}/app.json healthchecks.{process.name}: Heroku's Common Runtime does not "
                            "probe dynos; it restarts crashed ones and web dynos that do not bind $PORT within 60 s. "
                            "The checks run on the k8s stack only.")
        if process.autoscaling:
            pulumi.log.warn(f"{spec.shown}/app.json formation.{process.name}.autoscaling: Heroku autoscales only "
                            "web dynos of Performance size and up, on response time, switched on in the Dashboard; "
                            f"{process.name} runs its fixed quantity here.")
    unset = [n for n in contract.LIBPQ_ENV if n not in {v.name for v in spec.env}]
    if spec.database and unset and (h.deploy == "registry" or spec.heroku_yml):
        why = "deploy is 'registry' (the image's own command runs)" if h.deploy == "registry" else \
            f"{spec.shown}/heroku.yml is the app's own"
        pulumi.log.warn(f"{', '.join(unset)} are not set on Heroku: it attaches DATABASE_URL only, and {why}, so no "
                        "prelude derives them at dyno start as the generated heroku.yml does (k8s sets them). An app "
                        "that reads libpq's PG* variables connects to localhost. Fix: read DATABASE_URL in the app, "
                        "or use deploy 'build' without a heroku.yml of the app's own.")
    if warning := node_postgres.warning(spec, SSLMODE, "heroku"):
        pulumi.log.warn(warning)
    web = spec.web
    if (web.size and web.size != h.dyno_size) or (web.quantity != 1 and web.quantity != h.dyno_quantity):
        pulumi.log.warn(f"{spec.shown}/app.json formation.web ({web.quantity} x {web.size or 'any size'}) differs "
                        f"from the stack's dyno_quantity/dyno_size ({h.dyno_quantity} x {h.dyno_size}), which win.")


def app_features(s: Settings) -> list[str]:
    """Preboot where the dyno size has it (eco and basic do not), runtime metrics anywhere; each behind its setting."""
    h = s.platform_settings
    return ([PREBOOT] if h.preboot and DYNO_SIZES[h.dyno_size].preboot else []) + (
        [RUNTIME_METRICS] if h.runtime_metrics else [])


def deploy(s: Settings) -> None:
    """The heroku platform: everything `heroku create` + add-ons + `container:push/release` + `ps:scale` did."""
    h = s.platform_settings
    name = s.app.name
    # The app and its add-on hold the data: with `protect`, Pulumi refuses to delete or replace them.
    kept = pulumi.ResourceOptions(protect=s.app.protect)
    spec = s.app.contract
    warn_unmatched(spec, h)
    for warning in scheduler.warnings(spec, h.app_name):
        pulumi.log.warn(warning)
    generated = GeneratedSecrets(name, variables=[v.name for v in spec.generated], protect=s.app.protect).values \
        if spec.generated else {}
    app = HerokuApp(name, app_name=h.app_name, region=h.region, team=h.team, config_vars=app_config_vars(s),
                    sensitive_config_vars=merged(s.app.secret_config_vars, generated), opts=kept)
    postgres = HerokuPostgres(name, app_id=app.app_id, plan=h.postgres_plan, opts=kept) if spec.database else None
    after = [postgres.addon] if postgres else []
    if h.deploy == "registry":
        if h.api_key is None:
            pulumi.log.warn("deploy=registry pushes and releases with the Heroku API key: set "
                            "`pulumi config set --secret heroku:apiKey ...` or HEROKU_API_KEY, or `pulumi up` fails.")
        registry = RegistryRelease(name, app_name=app.name, api_key=h.api_key, spec=spec, after=after)
        shipped: pulumi.Resource = registry.release
        pulumi.export("web_image_id", registry.web_image_id)
    else:
        build = HerokuBuild(name, app_id=app.app_id, app_name=app.name, api_key=h.api_key, spec=spec, after=after)
        shipped = build.released  # the build's release phase has succeeded, not just the build
        pulumi.export("build_version", build.version)
    features = app_features(s)
    # Preboot is on before the formation changes size or quantity, so that change starts new dynos first.
    enabled = AppFeatures(name, app_id=app.app_id, names=features).features if features else []
    web = WebFormation(name, app_id=app.app_id, size=h.dyno_size, quantity=h.dyno_quantity,
                       after=[shipped, *enabled])
    for worker in spec.workers:
        ProcessFormation(f"{name}-{worker.name}", app_id=app.app_id, process=worker.name,
                         size=worker.size or h.dyno_size, quantity=worker.quantity, after=[shipped])
    if h.domain:
        # ACM once the formation runs a dyno that can have it (settings refuse a domain on eco).
        domain = CustomDomain(name, app_id=app.app_id, app_name=app.name, hostname=h.domain, api_key=h.api_key,
                              acm_after=[web.formation])
        pulumi.export("custom_url", domain.url)
        pulumi.export("dns_target", domain.dns_target)
    if h.log_drain_url is not None:
        LogDrain(name, app_id=app.app_id, url=h.log_drain_url)

    cli = f"--app {h.app_name}"
    pulumi.export("app_name", app.name)
    pulumi.export("url", app.web_url)
    pulumi.export("deploy", h.deploy)
    formations = {"web": (h.dyno_size, h.dyno_quantity),
                  **{w.name: (w.size or h.dyno_size, w.quantity) for w in spec.workers}}
    addon = h.postgres_plan if spec.database else None
    if addon:
        pulumi.export("postgres_plan", addon)
    pulumi.export("dyno", f"{h.dyno_quantity} x {h.dyno_size}")
    pulumi.export("heroku_scale", f"heroku ps:scale web={h.dyno_quantity}:{h.dyno_size} {cli}")
    pulumi.export("heroku_logs", f"heroku logs --tail {cli}")
    pulumi.export("heroku_rollback", f"heroku releases:rollback {cli}")
    pulumi.export("heroku_run", f"heroku run {cli} -- sh")
    if spec.cron:
        pulumi.export("heroku_scheduler_jobs", scheduler.jobs(spec))
    if addon and not has_continuous_protection(addon):
        # PGBackups schedules have no Platform API endpoint or provider resource: one CLI command sets one up.
        pulumi.export("heroku_backup_schedule", f"heroku pg:backups:schedule DATABASE_URL --at '03:00 UTC' {cli}")
    pulumi.export("monthly_cost_usd", monthly_cost_usd(formations.values(), addon))
    priced = [f"{process} {quantity} x {size}" for process, (size, quantity) in formations.items()]
    pulumi.export("monthly_cost_basis", f"list prices as of {PRICES_AS_OF} ({PRICES_SOURCE}), 24/7, "
                                        + " + ".join(priced + ([f"heroku-postgresql:{addon}"] if addon else [])))
