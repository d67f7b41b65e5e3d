"""The pinned helm: installed by `make test`, so a missing or different one fails here rather than skipping."""

from __future__ import annotations

import pytest

from offline import helm


def test_the_pinned_helm_is_installed_and_runs():
    assert helm.locate() == helm.HELM
    assert helm.version() == helm.HELM_VERSION


def test_a_missing_helm_fails_with_one_line_saying_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(helm, "HELM", helm.REPO / ".venv" / "bin" / "no-such-helm")
    helm.locate.cache_clear()
    try:
        with pytest.raises(helm.HelmError, match=r"^helm is not installed at .*: run `make .venv/bin/helm`"):
            helm.template(tmp_path, release="r", namespace="n", values={})
    finally:
        helm.locate.cache_clear()


def test_another_binary_in_its_place_is_refused(monkeypatch, tmp_path):
    impostor = tmp_path / "helm"  # executable, but not the pinned helm
    impostor.write_text("#!/bin/sh\necho v4.3.1\n")
    impostor.chmod(0o755)
    monkeypatch.setattr(helm, "HELM", impostor)
    helm.locate.cache_clear()
    try:
        with pytest.raises(helm.HelmError, match="is not the pinned helm"):
            helm.locate()
    finally:
        helm.locate.cache_clear()


def test_values_go_through_a_file_and_a_local_chart_version_is_checked(monkeypatch, tmp_path):
    argvs: list[list[str]] = []
    run = helm._run
    monkeypatch.setattr(helm, "_run", lambda args: argvs.append(args) or run(args))
    chart = tmp_path / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.2.3\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n"
        "data:\n  secret: {{ .Values.secret | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"
        "---\n# an empty document, dropped\n")
    (cm,) = helm.template(chart, release="rel", namespace="ns", values={"secret": "s3cr3t"}, version="1.2.3",
                          kube_version="1.34.0")
    assert cm["metadata"] == {"name": "rel", "namespace": "ns"}
    assert cm["data"] == {"secret": "s3cr3t", "kube": "v1.34.0"}
    assert argvs and not any("s3cr3t" in arg for argv in argvs for arg in argv)  # never on the command line
    with pytest.raises(helm.HelmError, match=r"is chart version 1\.2\.3, not 9\.9\.9"):
        helm.template(chart, release="rel", namespace="ns", values={}, version="9.9.9")
    with pytest.raises(helm.HelmError, match="unknown offline"):
        helm.template(chart, release="rel", namespace="ns", values={"secret": helm._UNKNOWN})
