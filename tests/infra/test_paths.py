"""Paths handed to providers: the engine runs providers in the program directory, infra/, so a path relative to
the project root reaches them wrong. The offline plan refuses a path that does not exist from there, as the
providers would at `pulumi preview`; the settings refuse relative paths the user gives."""

from __future__ import annotations

import sys

import pytest

import infra.heroku
import infra.k8s
from infra import paths
from infra.settings import ConfigError
from offline import plan as offline_plan
from offline import types as t


def test_app_context_is_the_app_directory_seen_from_the_program_directory(tmp_path):
    assert paths.context(paths.APP_DIR) == "../app"
    assert (paths.PROGRAM_DIR / paths.context(tmp_path)).resolve() == tmp_path.resolve()


@pytest.mark.parametrize(("stack", "overrides", "refused"), [
    ("k8s", (), f"{t.BUILDX_IMAGE} paasport: context.location 'app'"),
    ("heroku", ("deploy=registry",), f"{t.BUILDX_IMAGE} paasport-web: context.location 'app'"),
])
def test_a_provider_path_that_does_not_exist_from_the_program_directory_fails_the_plan(
        monkeypatch, stack, overrides, refused):
    # "app", relative to the project root, is what the program handed the providers before it moved into infra/;
    # from infra/, where docker-build runs, it names nothing. Every module that took `context` gets the old rule
    # (infra.k8s and infra.heroku, imported above, have imported them all).
    assert {infra.k8s.image.context, infra.heroku.registry.context} == {paths.context}
    for name, module in list(sys.modules.items()):
        if (name == "infra" or name.startswith("infra.")) and hasattr(module, "context"):
            monkeypatch.setattr(module, "context", lambda directory: directory.name)
    with pytest.raises(offline_plan.ProviderCheckError) as caught:
        offline_plan.run(stack, list(overrides))
    assert refused in str(caught.value)
    assert f"does not exist from the program directory ({paths.PROGRAM_DIR})" in str(caught.value)


@pytest.mark.parametrize(("key", "value"), [("render_dir", "rendered"), ("kubeconfig", "kube/config"),
                                            ("postgres_chart", "charts/postgresql-16.7.27.tgz")])
def test_a_relative_path_in_the_settings_is_refused_with_the_reason(key, value):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", [f"{key}={value}"])
    (line,) = [line for line in str(caught.value).splitlines() if f"paasport:{key} " in line]
    assert f"is '{value}', a relative path: the engine resolves it from infra/" in line
    assert "give an absolute path" in line


def test_an_absolute_kubeconfig_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"paasport:kubeconfig is '/.*', which does not exist"):
        offline_plan.run("k8s", [f"kubeconfig={tmp_path / 'missing'}"])
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    plan = offline_plan.run("k8s", [f"kubeconfig={kubeconfig}"])
    (provider,) = plan.find(t.K8S_PROVIDER)
    assert provider.inputs["kubeconfig"] == str(kubeconfig)
