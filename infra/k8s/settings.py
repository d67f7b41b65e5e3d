"""The k8s platform's settings: read once from the stack configuration, validated, typed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra import contract, cron
from infra.heroku.plans import DYNO_SIZES
from infra.settings import APP_NAME, APP_NAME_RULE, DNS_LABEL, DNS_NAME, REF_HOST, REPOSITORY, AppSettings, Reader

_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_CHART = re.compile(r"^(oci://|https://)\S+$")


@dataclass(frozen=True)
class PostgresSettings:
    """The Bitnami PostgreSQL chart on Kubernetes."""

    chart: str  # oci:// or https:// chart reference, or a local chart (.tgz or directory), as given
    chart_repository: str  # an https:// Helm repository that serves `chart` by name; empty for the others
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

    app_name: str  # what the stack's objects in the cluster and the image are named after (Pulumi's names are not)
    hostname: str
    namespace: str
    replicas: int
    hpa_enabled: bool
    hpa_min_replicas: int
    hpa_max_replicas: int
    hpa_cpu_percent: int
    hpa_handover: bool  # spec.replicas has been handed to another field manager: the autoscaler may take over
    tls_issuer: str  # an existing ClusterIssuer; empty: the stack's own namespaced ACME Issuer
    acme_email: str
    acme_server: str
    ingress_class: str  # of the solver Ingress cert-manager creates; the stack's Mapping routes the challenge
    ingress_timeout_ms: int
    release_timeout_s: int  # the release Job's deadline, and how long `pulumi up` waits for it
    linkerd_inject: bool
    render_dir: str  # absolute, or relative to the program directory (infra/) as the engine resolves it
    kubeconfig: str | pulumi.Output[str]  # an absolute path, or the contents as a secret; "": ambient
    kube_context: str
    postgres: PostgresSettings
    backup: BackupSettings


def _path_from_program(r: Reader, key: str, value: str, *, must_exist: bool, example: str) -> str:
    """`value` as the engine's providers resolve it: from infra/, their working directory; absolute here."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        r.problem(key, f"is {r.show(key, value)}, a relative path: the engine resolves it from infra/, not from "
                       "where you ran `pulumi`; give an absolute path", example)
        return value
    if must_exist and not path.exists():
        r.problem(key, f"is {r.show(key, value)}, which does not exist", example)
    return str(path)


def is_kubeconfig_contents(value: str) -> bool:
    """A kubeconfig's YAML or JSON rather than the path of one (a path is one line)."""
    stripped = value.strip()
    return "\n" in stripped or stripped.startswith(("{", "apiVersion"))


def _kubeconfig(r: Reader) -> str | pulumi.Output[str]:
    """The absolute path of a kubeconfig, or its contents as a secret: contents hold the cluster's credentials, so
    they are taken only from a secret (`pulumi config set --secret`), and stay one in the provider's inputs and the
    state; "" for the ambient kubeconfig."""
    example = "/home/me/.kube/config"
    raw = r.raw("kubeconfig") or ""
    if is_kubeconfig_contents(raw):
        if not r.is_secret("kubeconfig"):
            r.problem("kubeconfig", "holds a kubeconfig's contents in plain config, where they would be stored and "
                                    "shown in plain text: set them as a secret, or give the file's absolute path",
                      '-- "$(cat ~/.kube/config)"', secret=True)
            return ""
        if len(raw) > 1 << 20:
            r.problem("kubeconfig", f"is {len(raw)} characters long, more than {1 << 20}", example)
        return pulumi.Output.secret(raw)
    value = r.text("kubeconfig", example=example, max_length=4096)
    return _path_from_program(r, "kubeconfig", value, must_exist=True, example=example) if value else ""


def _schedule(r: Reader) -> str:
    """backup_schedule, checked as Kubernetes' parser reads a CronJob's schedule (infra/cron.py)."""
    value = r.text("backup_schedule", example="'0 3 * * *'")
    why = cron.problem(value)
    if why:
        r.problem("backup_schedule", f"is {r.show('backup_schedule', value)}, which {why} (it is a cron schedule, "
                                     "in UTC)", "'0 3 * * *'")
    return value


def check_secret_mutable(r: Reader) -> None:
    """Refuse a stack that turns off what Pulumi.yaml turns on for the default Kubernetes provider: Secrets
    updated in place, never deleted and created again (infra/k8s/cluster.py says why)."""
    value = pulumi.Config("kubernetes").get("enableSecretMutable")
    if value is not None and value.strip().lower() != "true":
        r.problems.append("kubernetes:enableSecretMutable is not true: a changed secret would then delete its "
                          "Secret before creating it again, and pods starting meanwhile fail. Fix: remove it from "
                          f"Pulumi.{r.stack}.yaml (Pulumi.yaml sets it true).")


def _chart(r: Reader) -> tuple[str, str]:
    chart = r.text("postgres_chart", example="oci://registry-1.docker.io/bitnamicharts/postgresql", max_length=2048)
    repository = r.text("postgres_chart_repository", pattern=re.compile(r"^https://\S+$"), why="an https URL",
                        example="https://charts.example.com/bitnami", max_length=2048)
    if repository and _CHART.match(chart):
        r.problem("postgres_chart_repository", "is set, but postgres_chart is a full reference; with a repository, "
                                               "postgres_chart is the chart's name", "''")
    elif chart and not repository and not _CHART.match(chart):
        chart = _path_from_program(r, "postgres_chart", chart, must_exist=True,
                                   example="/srv/charts/postgresql-16.7.27.tgz")
    return chart, repository


def read(r: Reader, app: AppSettings) -> K8sSettings:
    """Every k8s setting; problems go to `r`, which `infra.settings.load` raises together."""
    hostname = r.text("hostname", pattern=DNS_NAME, why="an RFC 1123 DNS name (lowercase letters, digits, '-', '.')",
                      example="paasport.example.com")
    if not hostname:
        r.problem("hostname", "is missing; the k8s platform serves the app on it", "paasport.example.com")
    if not app.image and not app.registry:
        r.problem("registry", "is missing; without a prebuilt `image` the app is built and pushed there",
                  "ghcr.io/acme")
    if app.registry_username and app.registry_password is None:
        r.problem("registry_password", "is missing, but registry_username is set", "<token>", secret=True)
    hpa_min = r.number("hpa_min_replicas", example=2, minimum=1, maximum=1000)
    hpa_max = r.number("hpa_max_replicas", example=5, minimum=1, maximum=1000)
    if hpa_min > hpa_max:
        r.problem("hpa_max_replicas", f"is {r.show('hpa_max_replicas', str(hpa_max))}, below hpa_min_replicas "
                                      f"({r.show('hpa_min_replicas', str(hpa_min))})", str(hpa_min))
    tls_issuer = r.text("tls_issuer", pattern=DNS_NAME, why="a ClusterIssuer name", example="letsencrypt-prod")
    acme_email = r.text("acme_email", pattern=_EMAIL, why="an e-mail address", example="ops@example.com")
    if not tls_issuer and not acme_email:
        r.problem("acme_email", "is missing, and so is tls_issuer: the certificate needs an issuer; give an e-mail "
                                "for the stack's own Let's Encrypt Issuer, or name an existing ClusterIssuer in "
                                "tls_issuer", "ops@example.com")
    if tls_issuer and acme_email:
        r.problem("acme_email", f"is set, and so is tls_issuer ({r.show('tls_issuer', tls_issuer)}): the stack "
                                "either uses that ClusterIssuer or creates its own Issuer with this e-mail, not "
                                "both; unset one",
                  "''")
    if app.contract is not None:
        for problem in contract.size_problems(app.contract, DYNO_SIZES, "the k8s stack (which maps Heroku's sizes)"):
            r.app_problem(problem)
    render_dir = r.text("render_dir", example="/srv/gitops/paasport", max_length=4096)
    if render_dir:
        render_dir = _path_from_program(r, "render_dir", render_dir, must_exist=False, example="/srv/gitops/paasport")
    chart, chart_repository = _chart(r)
    check_secret_mutable(r)
    return K8sSettings(
        # Empty: the project's name, `paasport`, which is what every stack made before the setting is named.
        app_name=r.text("app_name", pattern=APP_NAME, why=f"an app name ({APP_NAME_RULE})", example="shop")
        or app.name,
        hostname=hostname,
        namespace=r.text("namespace", pattern=DNS_LABEL, why="an RFC 1123 label", example="paasport"),
        replicas=r.number("replicas", example=2, minimum=1, maximum=1000),
        hpa_enabled=r.flag("hpa_enabled"),
        hpa_min_replicas=hpa_min,
        hpa_max_replicas=hpa_max,
        hpa_handover=r.flag("hpa_handover"),
        hpa_cpu_percent=r.number("hpa_cpu_percent", example=70, minimum=1, maximum=100),
        tls_issuer=tls_issuer,
        acme_email=acme_email,
        acme_server=r.text("acme_server", pattern=re.compile(r"^https://\S+$"), why="an https URL",
                           example="https://acme-staging-v02.api.letsencrypt.org/directory", max_length=2048),
        ingress_class=r.text("ingress_class", pattern=DNS_NAME, why="an IngressClass name", example="ambassador"),
        ingress_timeout_ms=r.number("ingress_timeout_ms", example=30000, minimum=1000, maximum=600000),
        release_timeout_s=r.number("release_timeout_s", example=1800, minimum=60, maximum=86400),
        linkerd_inject=r.flag("linkerd_inject"),
        render_dir=render_dir,
        kubeconfig=_kubeconfig(r),
        kube_context=r.text("kube_context", pattern=re.compile(r"^\S+$"), why="a context name", example="prod"),
        postgres=PostgresSettings(
            chart=chart,
            chart_repository=chart_repository,
            chart_version=r.text("postgres_chart_version", pattern=_SEMVER, why="a chart version like 16.7.27",
                                 example="16.7.27", required=True),
            image_registry=r.text("postgres_image_registry", pattern=re.compile(rf"^{REF_HOST}$"),
                                  why="a registry host", example="docker.io"),
            image_repository=r.text("postgres_image_repository", pattern=REPOSITORY, why="an image repository",
                                    example="bitnamilegacy/postgresql"),
            image_tag=r.text("postgres_image_tag", pattern=_TAG, why="an image tag", example="17.6.0-debian-12-r4"),
            storage_size=r.text("postgres_storage_size", pattern=_QUANTITY, why="a Kubernetes quantity like 8Gi",
                                example="8Gi"),
            storage_class=r.text("postgres_storage_class", pattern=DNS_NAME, why="a StorageClass name",
                                 example="standard"),
            metrics=r.flag("postgres_metrics"),
            database=r.text("database_name", pattern=_IDENTIFIER, why="a PostgreSQL identifier", example="dvdrental"),
            user=r.text("database_user", pattern=_IDENTIFIER, why="a PostgreSQL identifier", example="paasport"),
        ),
        backup=BackupSettings(
            enabled=r.flag("backup_enabled"),
            schedule=_schedule(r),
            keep=r.number("backup_keep", example=7, minimum=1, maximum=366),
            storage_size=r.text("backup_storage_size", pattern=_QUANTITY, why="a Kubernetes quantity like 8Gi",
                                example="8Gi"),
        ),
    )
