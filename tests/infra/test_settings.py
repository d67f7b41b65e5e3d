"""The program-wide settings: one program dispatching on `platform`, every key it reads documented in Pulumi.yaml
with its one default, and nothing documented that the program does not read."""

from __future__ import annotations

import pytest
import yaml

from infra import settings
from infra.settings import ConfigError
from offline import plan as offline_plan
from tests.support import REPO

# The secrets have no default (Pulumi.yaml documents them in its header comment): the program reads them all.
SECRET_KEYS = {"registry_password", "log_drain_url", "secret_config_vars"}


@pytest.mark.parametrize(("override", "says"), [("platform=openshift", "not one of k8s, heroku"),
                                                ("platform=", "is missing")])
def test_the_platform_must_be_one_the_program_knows(override, says):
    for stack in ("k8s", "heroku"):
        with pytest.raises(ConfigError) as caught:
            offline_plan.run(stack, [override])
        line = next(line for line in str(caught.value).splitlines() if "paasport:platform" in line)
        assert says in line and f"Fix: in Pulumi.{stack}.yaml set `paasport:platform: " in line


def test_one_program_dispatches_on_the_platform_setting():
    heroku = offline_plan.run("heroku")
    assert {r.type.split(":")[0] for r in heroku.resources if r.custom} >= {"heroku"}
    assert not [r for r in heroku.resources if r.type.startswith("kubernetes:")]
    assert not [r for r in offline_plan.run("k8s").resources if r.type.startswith("heroku:")]
    # The same stack file on the other platform is the other platform's program, refused for its missing keys.
    with pytest.raises(ConfigError, match="paasport:app_name is missing"):
        offline_plan.run("k8s", ["platform=heroku"])


def test_pulumi_yaml_documents_every_key_the_program_reads_and_no_other(monkeypatch):
    read: set[str] = set()
    raw = settings.Reader.raw

    def recording(self, key):
        read.add(key)
        return raw(self, key)

    monkeypatch.setattr(settings.Reader, "raw", recording)
    offline_plan.run("k8s")
    offline_plan.run("heroku")
    offline_plan.run("cluster")
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["main"] == "infra/"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    config = project["config"]
    assert read == set(config) | SECRET_KEYS
    # Every key but the platform has its one default there (nothing in infra/ repeats one), and a description.
    assert [key for key, spec in config.items() if "default" not in spec] == ["platform"]
    assert all(spec.get("description") for spec in config.values())
    header = (REPO / "Pulumi.yaml").read_text().split("\nconfig:", 1)[0]
    assert all(f"#   {key}" in header for key in SECRET_KEYS)
    assert not SECRET_KEYS & set(config)


def test_a_key_without_its_pulumi_yaml_default_is_reported_not_guessed(monkeypatch):
    # Defaults live only in Pulumi.yaml: were one lost, the program must say so instead of inventing a value.
    load_config = offline_plan.load_config

    def without_replicas(*args, **kwargs):
        project, config, secret_keys = load_config(*args, **kwargs)
        config.pop("paasport:replicas")
        return project, config, secret_keys

    monkeypatch.setattr(offline_plan, "load_config", without_replicas)
    with pytest.raises(ConfigError, match=r"paasport:replicas is not set \(and Pulumi.yaml gives no default"):
        offline_plan.run("k8s")
