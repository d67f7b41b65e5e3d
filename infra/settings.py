"""All stack configuration, read once into typed settings and validated before any resource exists.

Keys live in the project namespace (`paasport:<key>`), snake_case, documented with their defaults in
`Pulumi.yaml`. A bad value raises `ConfigError`: one message naming the key, the stack file and the fix,
which the Pulumi host (and `python -m infra.plan`) prints without a traceback.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.heroku_plans import DYNO_SIZES, POSTGRES_PLANS

PLATFORMS = ("k8s", "heroku")
LOG_LEVELS = ("debug", "info", "warning", "error")
HEROKU_REGIONS = ("us", "eu")  # the Common Runtime regions
HEROKU_DEPLOY_MODES = ("build", "registry")
# Config vars the stack sets itself (or the Postgres add-on does); `config_vars` may not override them.
HEROKU_RESERVED_VARS = (
    "DATABASE_URL", "LOG_LEVEL", "WEB_CONCURRENCY", "PGSSLMODE", "FORCE_HTTPS", "SEED_ARCHIVE", "PORT",
)

# Defaults of every optional plain key; `Pulumi.yaml` documents the same values (a test keeps them in step).
DEFAULTS: dict[str, Any] = {
    "image": "",
    "registry": "",
    "registry_username": "",
    "log_level": "info",
    "web_concurrency": 2,
    "seed_archive": "",
    "hostname": "",
    "namespace": "paasport",
    "replicas": 2,
    "hpa_enabled": False,
    "hpa_min_replicas": 2,
    "hpa_max_replicas": 5,
    "hpa_cpu_percent": 70,
    "tls_issuer": "letsencrypt-prod",
    "acme_email": "",
    "acme_server": "https://acme-v02.api.letsencrypt.org/directory",
    "ingress_class": "ambassador",
    "ingress_timeout_ms": 30000,
    "linkerd_inject": True,
    "render_dir": "",
    "kubeconfig": "",
    "kube_context": "",
    "database_name": "dvdrental",
    "database_user": "paasport",
    "postgres_chart_version": "16.7.27",
    "postgres_image_registry": "docker.io",
    "postgres_image_repository": "bitnamilegacy/postgresql",
    "postgres_image_tag": "17.6.0-debian-12-r4",
    "postgres_storage_size": "8Gi",
    "postgres_storage_class": "",
    "postgres_metrics": False,
    "backup_enabled": True,
    "backup_schedule": "0 3 * * *",
    "backup_keep": 7,
    "backup_storage_size": "8Gi",
    "app_name": "",
    "region": "us",
    "team": "",
    "dyno_size": "basic",
    "dyno_quantity": 1,
    "postgres_plan": "essential-0",
    "domain": "",
    "deploy": "build",
    "config_vars": {},
    "preboot": True,
    "runtime_metrics": True,
}
# Keys that only `pulumi config set --secret` may hold; they have no default.
SECRET_KEYS = ("registry_password", "log_drain_url", "secret_config_vars")
REQUIRED_KEYS = ("platform",)

_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_DNS_LABEL = re.compile(rf"^{_LABEL}$")
# The image reference grammar of distribution/reference: [host[:port]/]path[:tag][@digest].
_REF_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REF_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
_REPOSITORY = rf"(?:{_REF_HOST}/)?{_REF_COMPONENT}(?:/{_REF_COMPONENT})*"
_IMAGE_REF = re.compile(rf"^{_REPOSITORY}(?::[\w][\w.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?$")
_REGISTRY = re.compile(rf"^{_REPOSITORY}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
# Five cron fields (Kubernetes CronJob syntax) or one of its @-macros.
_CRON_FIELD = r"[0-9A-Za-z*/,?-]+"
_CRON = re.compile(rf"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|({_CRON_FIELD}\s+){{4}}{_CRON_FIELD})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Heroku's rule: a lowercase letter first, then lowercase letters, digits and dashes, 3 to 30 characters.
_HEROKU_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(pulumi.RunError):
    """A stack configuration problem; the Pulumi host prints its message alone, without a traceback."""


@dataclass(frozen=True)
class AppSettings:
    """What every platform needs: the app image and its runtime settings."""

    name: str
    image: str  # a prebuilt image reference; empty means build from app/ and push to `registry`
    registry: str
    registry_username: str
    registry_password: pulumi.Output[str] | None
    log_level: str
    web_concurrency: int
    seed_archive: str


@dataclass(frozen=True)
class PostgresSettings:
    """The Bitnami PostgreSQL chart on Kubernetes."""

    chart_version: str
    image_registry: str
    image_repository: str
    image_tag: str
    storage_size: str
    storage_class: str
    metrics: bool
    database: str
    user: str


@dataclass(frozen=True)
class BackupSettings:
    """Scheduled `pg_dump`s of the k8s database into a volume of their own."""

    enabled: bool
    schedule: str  # cron, UTC
    keep: int
    storage_size: str


@dataclass(frozen=True)
class K8sSettings:
    """The Kubernetes platform."""

    hostname: str
    namespace: str
    replicas: int
    hpa_enabled: bool
    hpa_min_replicas: int
    hpa_max_replicas: int
    hpa_cpu_percent: int
    tls_issuer: str
    acme_email: str
    acme_server: str
    ingress_class: str
    ingress_timeout_ms: int
    linkerd_inject: bool
    render_dir: str
    kubeconfig: str
    kube_context: str
    postgres: PostgresSettings
    backup: BackupSettings


@dataclass(frozen=True)
class HerokuSettings:
    """The Heroku platform: one app on the container stack, Heroku Postgres, a web formation, a custom domain."""

    app_name: str
    region: str
    team: str
    dyno_size: str
    dyno_quantity: int
    postgres_plan: str
    domain: str
    deploy: str  # build: a Heroku Build from app/ (heroku.yml); registry: push images, release via the API
    preboot: bool  # start new web dynos before stopping the old ones, where the dyno size allows it
    runtime_metrics: bool  # the log-runtime-metrics feature: dyno memory and load in the log stream
    config_vars: dict[str, str] = field(default_factory=dict)
    secret_config_vars: pulumi.Output[dict[str, str]] | None = None
    log_drain_url: pulumi.Output[str] | None = None
    # `heroku:apiKey` or HEROKU_API_KEY; only the registry mode's push and release need it in the program.
    api_key: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration of one stack; `k8s` or `heroku` is set to match `platform`."""

    stack: str
    platform: str
    app: AppSettings
    k8s: K8sSettings | None = None
    heroku: HerokuSettings | None = None


class _Reader:
    """Reads keys from the project config, converting types and collecting every problem found."""

    def __init__(self, config: pulumi.Config, stack: str) -> None:
        self.config = config
        self.stack = stack
        self.problems: list[str] = []

    def problem(self, key: str, why: str, example: str) -> None:
        self.problems.append(
            f"{self.config.name}:{key} {why}. Fix: in Pulumi.{self.stack}.yaml set "
            f"`{self.config.name}:{key}: {example}` (or run `pulumi config set --stack {self.stack} "
            f"{key} {example}`)."
        )

    def raw(self, key: str) -> str | None:
        return self.config.get(key)

    def text(self, key: str, *, pattern: re.Pattern[str] | None = None, why: str = "", example: str = "") -> str:
        value = self.raw(key)
        value = DEFAULTS[key] if value is None else value.strip()
        if value and pattern is not None and not pattern.match(value):
            self.problem(key, f"is {value!r}, which is not {why}", example)
        return value

    def number(self, key: str, *, minimum: int, maximum: int | None = None) -> int:
        raw = self.raw(key)
        if raw is None:
            return DEFAULTS[key]
        try:
            value = int(raw)
        except ValueError:
            self.problem(key, f"is {raw!r}, not a whole number", str(DEFAULTS[key]))
            return DEFAULTS[key]
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.problem(key, f"is {value}, but must be {bounds}", str(DEFAULTS[key]))
        return value

    def flag(self, key: str) -> bool:
        raw = self.raw(key)
        if raw is None:
            return DEFAULTS[key]
        if raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        self.problem(key, f"is {raw!r}, not true or false", str(DEFAULTS[key]).lower())
        return DEFAULTS[key]

    def choice(self, key: str, choices: tuple[str, ...], *, required: bool = False) -> str:
        value = (self.raw(key) or "").strip() if required else self.text(key)
        if required and not value:
            self.problem(key, f"is missing; it must be one of {', '.join(choices)}", choices[0])
        elif value not in choices:
            self.problem(key, f"is {value!r}, which is not one of {', '.join(choices)}", choices[0])
        return value


def _read_app(r: _Reader) -> AppSettings:
    image = r.text("image", pattern=_IMAGE_REF, why="an image reference", example="ghcr.io/acme/paasport:1.0.0")
    registry = r.text("registry", pattern=_REGISTRY, why="a registry repository prefix", example="ghcr.io/acme")
    log_level = r.choice("log_level", LOG_LEVELS)
    return AppSettings(
        name=pulumi.get_project(),
        image=image,
        registry=registry,
        registry_username=r.text("registry_username"),
        registry_password=r.config.get_secret("registry_password"),
        log_level=log_level,
        web_concurrency=r.number("web_concurrency", minimum=1, maximum=64),
        seed_archive=r.text("seed_archive"),
    )


def _read_k8s(r: _Reader, app: AppSettings) -> K8sSettings:
    hostname = r.text("hostname", pattern=_DNS_NAME, why="an RFC 1123 DNS name (lowercase letters, digits, '-', '.')",
                      example="paasport.example.com")
    if not hostname:
        r.problem("hostname", "is missing; the k8s platform serves the app on it", "paasport.example.com")
    if not app.image and not app.registry:
        r.problem("registry", "is missing; without a prebuilt `image` the app is built and pushed there",
                  "ghcr.io/acme")
    hpa_min = r.number("hpa_min_replicas", minimum=1)
    hpa_max = r.number("hpa_max_replicas", minimum=1)
    if hpa_min > hpa_max:
        r.problem("hpa_max_replicas", f"is {hpa_max}, below hpa_min_replicas ({hpa_min})", str(hpa_min))
    acme_email = r.text("acme_email", pattern=_EMAIL, why="an e-mail address", example="ops@example.com")
    identifier = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
    postgres = PostgresSettings(
        chart_version=r.text("postgres_chart_version", pattern=_SEMVER, why="a chart version like 16.7.27",
                             example=DEFAULTS["postgres_chart_version"]),
        image_registry=r.text("postgres_image_registry", pattern=re.compile(rf"^{_REF_HOST}$"),
                              why="a registry host", example="docker.io"),
        image_repository=r.text("postgres_image_repository", pattern=_REGISTRY, why="an image repository",
                                example=DEFAULTS["postgres_image_repository"]),
        image_tag=r.text("postgres_image_tag", pattern=_TAG, why="an image tag",
                         example=DEFAULTS["postgres_image_tag"]),
        storage_size=r.text("postgres_storage_size", pattern=_QUANTITY, why="a Kubernetes quantity like 8Gi",
                            example="8Gi"),
        storage_class=r.text("postgres_storage_class", pattern=_DNS_NAME, why="a StorageClass name",
                             example="standard"),
        metrics=r.flag("postgres_metrics"),
        database=r.text("database_name", pattern=identifier, why="a PostgreSQL identifier", example="dvdrental"),
        user=r.text("database_user", pattern=identifier, why="a PostgreSQL identifier", example="paasport"),
    )
    return K8sSettings(
        hostname=hostname,
        namespace=r.text("namespace", pattern=_DNS_LABEL, why="an RFC 1123 label", example="paasport"),
        replicas=r.number("replicas", minimum=1),
        hpa_enabled=r.flag("hpa_enabled"),
        hpa_min_replicas=hpa_min,
        hpa_max_replicas=hpa_max,
        hpa_cpu_percent=r.number("hpa_cpu_percent", minimum=1, maximum=100),
        tls_issuer=r.text("tls_issuer", pattern=_DNS_NAME, why="a ClusterIssuer name", example="letsencrypt-prod"),
        acme_email=acme_email,
        acme_server=r.text("acme_server", pattern=re.compile(r"^https://\S+$"), why="an https URL",
                          example=DEFAULTS["acme_server"]),
        ingress_class=r.text("ingress_class", pattern=_DNS_NAME, why="an IngressClass name", example="ambassador"),
        ingress_timeout_ms=r.number("ingress_timeout_ms", minimum=1000, maximum=600000),
        linkerd_inject=r.flag("linkerd_inject"),
        render_dir=r.text("render_dir"),
        kubeconfig=r.text("kubeconfig"),
        kube_context=r.text("kube_context"),
        postgres=postgres,
        backup=BackupSettings(
            enabled=r.flag("backup_enabled"),
            schedule=r.text("backup_schedule", pattern=_CRON, why="a cron schedule of five fields (UTC)",
                            example="'0 3 * * *'"),
            keep=r.number("backup_keep", minimum=1, maximum=366),
            storage_size=r.text("backup_storage_size", pattern=_QUANTITY, why="a Kubernetes quantity like 8Gi",
                                example="8Gi"),
        ),
    )


def _read_config_vars(r: _Reader) -> dict[str, str]:
    raw = r.raw("config_vars")
    example = "{\"FEATURE_X\": \"on\"}"
    try:
        value = DEFAULTS["config_vars"] if raw is None else r.config.get_object("config_vars")
    except Exception:  # the CLI hands objects over as JSON; anything else is a typo
        value = None
    if not isinstance(value, dict):
        r.problem("config_vars", f"is {raw!r}, not an object of NAME: value", example)
        return {}
    for name, var in value.items():
        if not _ENV_NAME.match(name) or isinstance(var, dict | list) or var is None:
            r.problem("config_vars", f"has {name!r}, not an environment variable NAME with a plain value", example)
        elif name.upper() in HEROKU_RESERVED_VARS:
            r.problem("config_vars", f"sets {name}, which the stack sets itself (from dyno_size, log_level, "
                                     "seed_archive or the Postgres add-on); remove it", example)
    return {name: str(var).lower() if isinstance(var, bool) else str(var) for name, var in value.items()}


def _heroku_api_key(config: pulumi.Config) -> pulumi.Output[str] | None:
    """The key the Heroku provider itself uses: `heroku:apiKey`, else HEROKU_API_KEY, always as a secret."""
    key = pulumi.Config("heroku").get_secret("apiKey")
    if key is not None:
        return key
    env = os.environ.get("HEROKU_API_KEY")
    return pulumi.Output.secret(env) if env else None


def _read_heroku(r: _Reader) -> HerokuSettings:
    app_name = r.text("app_name", pattern=_HEROKU_APP_NAME, example="acme-paasport",
                      why="a Heroku app name (a lowercase letter first, then lowercase letters, digits or '-', "
                          "3 to 30 characters)")
    if not app_name:
        r.problem("app_name", "is missing; it names the Heroku app (and its herokuapp.com address)", "acme-paasport")
    dyno_size = r.choice("dyno_size", tuple(DYNO_SIZES))
    size = DYNO_SIZES.get(dyno_size)
    quantity = r.number("dyno_quantity", minimum=1, maximum=100)
    if size and quantity > 1 and not size.scalable:
        r.problem("dyno_quantity", f"is {quantity}, but {dyno_size} dynos cannot scale beyond 1; use 1, or set "
                                   "dyno_size to standard-1x or larger", "1")
    domain = r.text("domain", pattern=_DNS_NAME, why="a hostname like app.example.com (lowercase, RFC 1123)",
                    example="app.example.com")
    if domain and "." not in domain:
        r.problem("domain", f"is {domain!r}, which is not a fully qualified hostname", "app.example.com")
    if domain and size and not size.acm:
        r.problem("dyno_size", f"is {dyno_size}, which gets no automatic certificate (ACM) for the custom domain "
                               f"{domain}; use basic or larger, or unset domain", "basic")
    team = r.text("team", pattern=_DNS_LABEL, why="a Heroku team name", example="acme")
    return HerokuSettings(
        app_name=app_name,
        region=r.choice("region", HEROKU_REGIONS),
        team=team,
        dyno_size=dyno_size,
        dyno_quantity=quantity,
        postgres_plan=r.choice("postgres_plan", tuple(POSTGRES_PLANS)),
        domain=domain,
        deploy=r.choice("deploy", HEROKU_DEPLOY_MODES),
        preboot=r.flag("preboot"),
        runtime_metrics=r.flag("runtime_metrics"),
        config_vars=_read_config_vars(r),
        secret_config_vars=r.config.get_secret_object("secret_config_vars"),
        log_drain_url=r.config.get_secret("log_drain_url"),
        api_key=_heroku_api_key(r.config),
    )


def load() -> Settings:
    """Read and validate this stack's configuration; raise one `ConfigError` listing every problem."""
    stack = pulumi.get_stack()
    r = _Reader(pulumi.Config(), stack)
    platform = r.choice("platform", PLATFORMS, required=True)
    app = _read_app(r)
    k8s = _read_k8s(r, app) if platform == "k8s" else None
    heroku = _read_heroku(r) if platform == "heroku" else None
    if r.problems:
        raise ConfigError(f"Invalid configuration of stack {stack!r} (Pulumi.{stack}.yaml):\n  - "
                          + "\n  - ".join(r.problems))
    return Settings(stack=stack, platform=platform, app=app, k8s=k8s, heroku=heroku)
