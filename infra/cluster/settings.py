"""The cluster platform's settings: read once from the stack configuration, validated, typed.

Each part (Emissary-ingress, cert-manager, Linkerd, metrics-server, and the parts in metrics.py and logs.py)
is behind `<part>_enabled`, and its charts come from `<part>_charts` at `<part>_chart_version` (see
`read_charts`). Pulumi.yaml holds every default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from infra.charts import ChartSource
from infra.cluster import ingress, linkerd, metrics_server, tls
from infra.k8s.settings import _EMAIL, _kubeconfig
from infra.settings import DNS_NAME, AppSettings, Reader

_SOURCE = re.compile(r"^(oci://|https://)\S+$")
# cert-manager's own tags carry a "v" (v1.21.1); the others are plain semver.
_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+$")


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
    metrics_server: dict[str, ChartSource] | None


def read_charts(r: Reader, part: str, names: tuple[str, ...], *, example_version: str) -> dict[str, ChartSource]:
    """Chart sources of `part`'s charts (`names`) from `<part>_charts` and `<part>_chart_version`.

    `<part>_charts` is where the charts are, as `ChartSource.of` reads it: an oci:// registry prefix, an https://
    Helm repository or mirror, or the absolute path of a local directory of `helm pull`ed packages (air-gapped
    clusters); a package missing there is named at preview.
    """
    key, version_key = f"{part}_charts", f"{part}_chart_version"
    source = r.text(key, example="https://charts.example.com/mirror", max_length=2048)
    version = r.text(version_key, pattern=_VERSION, why="a chart version like 1.2.3", example=example_version)
    found = {name: ChartSource.of(source, name, version) for name in names}
    if source and not _SOURCE.match(source):
        path = Path(source).expanduser()
        if not path.is_absolute():
            r.problem(key, f"is {r.show(key, source)}, neither an oci:// or https:// source nor an absolute path: "
                           "the engine resolves a relative path from infra/, not from where you ran `pulumi`",
                      "/srv/charts")
        else:
            missing = [Path(s.chart).name for s in found.values() if not Path(s.chart).exists()]
            if missing:
                r.problem(key, f"is the directory {r.show(key, source)}, which holds no {', '.join(missing)} "
                               f"(`helm pull` them there, or fix {version_key})", str(path))
            found = {name: ChartSource(str(path / Path(s.chart).name), version) for name, s in found.items()}
    return found


def _part(r: Reader, part: str, names: tuple[str, ...], example_version: str) -> dict[str, ChartSource] | None:
    charts = read_charts(r, part, names, example_version=example_version)
    return charts if r.flag(f"{part}_enabled") else None


def read(r: Reader, app: AppSettings) -> ClusterSettings:
    """Every cluster setting; problems go to `r`, which `infra.settings.load` raises together."""
    cert_manager = _part(r, "cert_manager", tls.CHARTS, "v1.21.1")
    acme_email = r.text("acme_email", pattern=_EMAIL, why="an e-mail address", example="ops@example.com")
    if cert_manager is not None and not acme_email:
        r.problem("acme_email", "is missing; Let's Encrypt registers the cluster's ClusterIssuers to it (expiry "
                                "notices go there)", "ops@example.com")
    return ClusterSettings(
        kubeconfig=_kubeconfig(r),
        kube_context=r.text("kube_context", pattern=re.compile(r"^\S+$"), why="a context name", example="prod"),
        render_dir="",
        protect=app.protect,
        ingress_class=r.text("ingress_class", pattern=DNS_NAME, why="an IngressClass name", example="ambassador"),
        acme_email=acme_email,
        emissary=_part(r, "emissary", ingress.CHARTS, "4.1.0"),
        cert_manager=cert_manager,
        linkerd=_part(r, "linkerd", linkerd.CHARTS, "2026.8.3"),
        metrics_server=_part(r, "metrics_server", metrics_server.CHARTS, "3.13.1"),
    )
