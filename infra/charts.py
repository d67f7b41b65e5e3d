"""Helm charts as both platforms install them: where a chart comes from (`ChartSource`), and one `install` call.

A chart comes from a registry by default (an oci:// reference, or a chart name in an https:// Helm repository, a
mirror for air-gapped clusters), or from a local .tgz or chart directory. `install` makes a `helm.v3.Release`:
helm itself installs the release, waits for it, and rolls a failed upgrade back (`atomic`). With a `render_dir`
provider a Release cannot be rendered to YAML (pulumi/pulumi-kubernetes#1716), so there it is a `helm.v4.Chart`,
which templates the chart client-side into ordinary Kubernetes resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.settings import Reader

REMOTE = re.compile(r"^(oci://|https://)\S+$")
# cert-manager's own tags carry a "v" (v1.21.1); the others are plain semver.
_VERSION = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+$")


@dataclass(frozen=True)
class ChartSource:
    """One chart at one version: `chart` is an oci:// or https:// reference, a local chart (.tgz or directory), or
    a chart's name in `repository`, an https:// Helm repository."""

    chart: str
    version: str
    repository: str = ""

    @classmethod
    def of(cls, source: str, name: str, version: str) -> ChartSource:
        """Chart `name` at `version` from `source`: an oci:// registry prefix (`oci://host/path` + `/name`), an
        https:// Helm repository (or mirror) serving it by name, or a local directory holding the packages as
        `helm pull` names them (`name-version.tgz`)."""
        if source.startswith("oci://"):
            return cls(chart=f"{source.rstrip('/')}/{name}", version=version)
        if source.startswith("https://"):
            return cls(chart=name, version=version, repository=source)
        return cls(chart=f"{source.rstrip('/')}/{name}-{version}.tgz", version=version)

    @property
    def local(self) -> bool:
        return not self.repository and not REMOTE.match(self.chart)


def install(name: str, source: ChartSource, *, namespace: pulumi.Input[str], values: dict[str, Any],
            opts: pulumi.ResourceOptions, render: bool = False, release: str = "", **release_args: Any
            ) -> pulumi.Resource:
    """Resource `name`, the release `release` (default `name`) of `source` into `namespace` with `values`;
    `release_args` go to helm.v3.Release only (e.g. timeout, or skip_crds)."""
    release = release or name
    if render:
        repository = {"repository_opts": k8s.helm.v4.RepositoryOptsArgs(repo=source.repository)} \
            if source.repository else {}
        return k8s.helm.v4.Chart(name, chart=source.chart, version=source.version, name=release, namespace=namespace,
                                 values=values, opts=opts, **repository)
    repository = {"repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=source.repository)} \
        if source.repository else {}
    args = {"atomic": True, "cleanup_on_fail": True, "timeout": 600, "max_history": 10, **release_args}
    return k8s.helm.v3.Release(name, chart=source.chart, version=source.version, name=release, namespace=namespace,
                               values=values, opts=opts, **repository, **args)


def read_charts(r: Reader, part: str, names: tuple[str, ...], *, example_version: str) -> dict[str, ChartSource]:
    """Chart sources of `part`'s charts (`names`) from `<part>_charts` and `<part>_chart_version`.

    `<part>_charts` is where the charts are, as `ChartSource.of` reads it: an oci:// registry prefix, an https://
    Helm repository or mirror, or the absolute path of a local directory of `helm pull`ed packages (air-gapped
    clusters); a package missing there is named at preview.
    """
    key, version_key = f"{part}_charts", f"{part}_chart_version"
    source = r.text(key, example="https://charts.example.com/mirror", max_length=2048)
    version = r.text(version_key, pattern=_VERSION, why="a chart version like 1.2.3", example=example_version,
                     required=True)
    found = {name: ChartSource.of(source, name, version) for name in names}
    if source and not REMOTE.match(source):
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
