"""The cluster platform's settings: read once from the stack configuration, validated, typed.

Each part (Emissary-ingress, cert-manager, Linkerd, metrics-server, and the parts in metrics.py and logs.py)
is behind `<part>_enabled`, and its charts come from `<part>_charts` at `<part>_chart_version` (see
`infra.charts.read_charts`); metrics.py and logs.py, whose charts have versions of their own, read theirs in
their `read_settings`. Pulumi.yaml holds every default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.charts import ChartSource, read_charts
from infra.cluster import ingress, linkerd, logs, metrics, metrics_server, tls
from infra.k8s.settings import _EMAIL, _kubeconfig, check_secret_mutable
from infra.paths import PROJECT_DIR
from infra.settings import DNS_LABEL, DNS_NAME, AppSettings, ConfigError, Reader, read_yaml, stack_file_config


@dataclass(frozen=True)
class ClusterSettings:
    """The platform a bare cluster needs before the k8s stack: each part, or None where it is off."""

    kubeconfig: str
    kube_context: str
    render_dir: str  # always empty: infra.k8s.cluster.provider reads it; the cluster stack applies, never renders
    protect: bool
    ingress_class: str
    acme_email: str
    emissary: dict[str, ChartSource] | None
    cert_manager: dict[str, ChartSource] | None
    linkerd: dict[str, ChartSource] | None
    linkerd_trust_anchors: tuple[int, ...]
    linkerd_gateway_api: bool  # linkerd-crds installs the Gateway API CRDs (false: the cluster has its own)
    metrics_server: dict[str, ChartSource] | None
    metrics: metrics.MetricsSettings | None
    logs: logs.LogsSettings | None


_ANCHORS = re.compile(r"^[1-9][0-9]{0,2}(,[1-9][0-9]{0,2})*$")


def _part(r: Reader, part: str, names: tuple[str, ...], example_version: str) -> dict[str, ChartSource] | None:
    charts = read_charts(r, part, names, example_version=example_version)
    return charts if r.flag(f"{part}_enabled") else None


def _app_stack_config(name: str) -> dict[str, object] | None:
    """The plain settings of stack `name` as `pulumi up --stack NAME` reads them: Pulumi.yaml's defaults, then its
    Pulumi.NAME.yaml beside Pulumi.yaml; None when that file is not there."""
    path = PROJECT_DIR / f"Pulumi.{name}.yaml"
    if not path.is_file():
        return None
    project = read_yaml(PROJECT_DIR / "Pulumi.yaml")
    config = {key: spec["default"] for key, spec in project["config"].items() if "default" in spec}
    prefix = f"{project['name']}:"
    for key, value in stack_file_config(path).items():
        config[str(key).removeprefix(prefix)] = value
    return config


def _check_app_stacks(r: Reader, c: ClusterSettings, namespaces: dict[str, str]) -> None:
    """Each app stack in `app_stacks` must find here what its own settings need, and claim no namespace of ours.

    A `pulumi preview --stack cluster` thus refuses, in one message, to take away what `pulumi up --stack k8s`
    relies on; only plain settings are read (none of these keys is a secret).
    """
    raw = r.text("app_stacks", example="k8s", max_length=1024)
    for name in [n.strip() for n in raw.split(",") if n.strip()]:
        if not DNS_LABEL.match(name):
            r.problem("app_stacks", f"names {r.show('app_stacks', name)}, which is not a stack name", "k8s")
            continue
        try:
            k = _app_stack_config(name)
        except ConfigError as error:  # its line and column: the CLI refuses that file, so this check cannot read it
            r.problems.append(f"{r.config.name}:app_stacks names stack {name!r}, whose file cannot be read: "
                              f"{str(error).split('. Fix: ')[0]}. Fix: correct Pulumi.{name}.yaml there, or drop "
                              f"{name} from app_stacks.")
            continue
        if k is None:
            r.problem("app_stacks", f"names stack {name!r}, but there is no Pulumi.{name}.yaml beside Pulumi.yaml "
                                    "to read its needs from; create it, or drop the name", "''")
            continue
        if k.get("platform") != "k8s":
            r.problem("app_stacks", f"names stack {name!r}, whose platform is {k.get('platform')!r}, not k8s", "k8s")
            continue
        of = f"stack {name} (Pulumi.{name}.yaml)"
        if c.emissary is None:
            r.problem("emissary_enabled", f"is false, but {of} routes the app through Emissary's Host and Mapping",
                      "true")
        if c.cert_manager is None:
            r.problem("cert_manager_enabled", f"is false, but {of} asks cert-manager for its Certificate (if the "
                                                 f"cluster has its own, leave {name} out of app_stacks)", "true")
        elif (issuer := str(k.get("tls_issuer") or "")) and issuer not in tls.ISSUERS:
            r.problem("app_stacks", f"names {of}, whose tls_issuer {issuer!r} is none of this stack's "
                                    f"ClusterIssuers ({', '.join(tls.ISSUERS)}); fix its tls_issuer", "k8s")
        if c.linkerd is None and str(k.get("linkerd_inject")).lower() == "true":
            r.problem("linkerd_enabled", f"is false, but {of} has linkerd_inject true: it asks Linkerd to mesh "
                                         "its pods, with no Linkerd to do it", "true")
        if c.metrics_server is None and str(k.get("hpa_enabled")).lower() == "true":
            r.problem("metrics_server_enabled", f"is false, but {of} has hpa_enabled true: its autoscaler reads "
                                                "CPU from metrics-server (if the cluster has its own, as k3s does, "
                                                f"leave {name} out of app_stacks)", "true")
        if c.emissary is not None and str(k.get("ingress_class")) != c.ingress_class:
            r.problem("ingress_class", f"is {c.ingress_class!r}, but {of} has ingress_class "
                                       f"{k.get('ingress_class')!r}: both name the IngressClass Emissary serves",
                      str(k.get("ingress_class")))
        if (ns := str(k.get("namespace"))) in namespaces:
            r.problem("app_stacks", f"names {of}, whose namespace {ns!r} is also this stack's namespace for "
                                    f"{namespaces[ns]}: two stacks would own it; give that stack another namespace",
                      "k8s")


def _trust_anchors(r: Reader) -> tuple[int, ...]:
    """`linkerd_trust_anchors`: the generations of Linkerd trust anchor the stack keeps, the issuer's first."""
    value = r.text("linkerd_trust_anchors", pattern=_ANCHORS, why="comma-separated generation numbers, such as 1 or "
                   "2,1 (the first signs the issuer)", example="1")
    if not value:
        r.problem("linkerd_trust_anchors", "is empty, but the issuer needs a trust anchor to sign it", "1")
    if not _ANCHORS.match(value):
        return (1,)
    anchors = tuple(int(part) for part in value.split(","))
    if len(set(anchors)) != len(anchors):
        r.problem("linkerd_trust_anchors", f"is {value!r}, which names a generation twice", "1")
    return anchors


def read(r: Reader, app: AppSettings) -> ClusterSettings:
    """Every cluster setting; problems go to `r`, which `infra.settings.load` raises together."""
    cert_manager = _part(r, "cert_manager", tls.CHARTS, "v1.21.1")
    acme_email = r.text("acme_email", pattern=_EMAIL, why="an e-mail address", example="ops@example.com")
    if cert_manager is not None and not acme_email:
        r.problem("acme_email", "is missing; Let's Encrypt registers the cluster's ClusterIssuers to it (expiry "
                                "notices go there)", "ops@example.com")
    check_secret_mutable(r)
    c = ClusterSettings(
        kubeconfig=_kubeconfig(r),
        kube_context=r.text("kube_context", pattern=re.compile(r"^\S+$"), why="a context name", example="prod"),
        render_dir="",
        protect=app.protect,
        ingress_class=r.text("ingress_class", pattern=DNS_NAME, why="an IngressClass name", example="ambassador"),
        acme_email=acme_email,
        emissary=_part(r, "emissary", ingress.CHARTS, "4.1.0"),
        cert_manager=cert_manager,
        linkerd=_part(r, "linkerd", linkerd.CHARTS, "2026.8.3"),
        linkerd_trust_anchors=_trust_anchors(r),
        linkerd_gateway_api=r.flag("linkerd_gateway_api"),
        metrics_server=_part(r, "metrics_server", metrics_server.CHARTS, "3.13.1"),
        metrics=metrics.read_settings(r),
        logs=logs.read_settings(r),
    )
    _check_app_stacks(r, c, claimed_namespaces(c))
    return c


def claimed_namespaces(c: ClusterSettings) -> dict[str, str]:
    """Each namespace the stack creates, and the part that creates it (a part's namespace exists only when it is
    on). Parts name their namespaces once, in their module."""
    parts = {"Emissary-ingress": (c.emissary, [ingress.NAMESPACE]), "cert-manager": (c.cert_manager, [tls.NAMESPACE]),
             "Linkerd": (c.linkerd, [linkerd.NAMESPACE, linkerd.CNI_NAMESPACE]),
             "metrics-server": (c.metrics_server, [metrics_server.NAMESPACE]),
             "Prometheus and Grafana": (c.metrics, [metrics.NAMESPACE]),
             "Fluent Bit and OpenSearch": (c.logs, [logs.AGENT_NAMESPACE, logs.STORE_NAMESPACE])}
    return {ns: part for part, (on, names) in parts.items() if on is not None for ns in names}
