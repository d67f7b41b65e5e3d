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
    config = {key: spec for key, spec in project["config"].items() if ":" not in key}
    assert read == set(config) | SECRET_KEYS
    # Every key but the platform has its one default there (nothing in infra/ repeats one), and a description.
    assert [key for key, spec in config.items() if "default" not in spec] == ["platform"]
    assert all(spec.get("description") for spec in config.values())
    # The one setting of another package: the Kubernetes provider's, which the stacks need and refuse otherwise.
    assert {key: spec for key, spec in project["config"].items() if ":" in key} == {
        "kubernetes:enableSecretMutable": {"value": True}}
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


# --- keys the program does not read ------------------------------------------------------------------------------


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    """A copy of the project's Pulumi.yaml and stack files that a test may edit; the program and the offline plan
    read them there."""
    for path in REPO.glob("Pulumi*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    monkeypatch.setattr(settings, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(offline_plan, "PROJECT_DIR", tmp_path)
    return tmp_path


def config_problems(stack: str, overrides: list[str] = (), secrets: list[str] = ()) -> list[str]:
    app = [f"app_dir={REPO / 'app'}"] if stack != "cluster" else []  # the copy has no app beside it
    with pytest.raises(ConfigError) as caught:
        offline_plan.run(stack, [*app, *overrides], list(secrets))
    return [line.removeprefix("  - ") for line in str(caught.value).splitlines()[1:]]


def test_a_mistyped_key_in_the_stack_file_stops_the_preview_naming_the_file_and_the_key_meant(project_copy):
    # The defect: `paasport:replcas: "3"` was read by nothing, and `pulumi up` kept 2 replicas.
    stack_file = project_copy / "Pulumi.k8s.yaml"
    stack_file.write_text(stack_file.read_text().replace("  paasport:replicas: 2\n", "  paasport:replcas: \"3\"\n")
                          + "  paasport:namepsace: shop\n  kubernetes:context: prod\n  heroku:apiKey: x\n")
    assert config_problems("k8s") == [
        "paasport:namepsace (Pulumi.k8s.yaml) is not a setting of this program; did you mean `namespace`? Fix: "
        "write `paasport:namespace` instead.",
        "paasport:replcas (Pulumi.k8s.yaml) is not a setting of this program; did you mean `replicas`? Fix: write "
        "`paasport:replicas` instead."]
    (project_copy / "Pulumi.cluster.yaml").write_text("config:\n  paasport:platform: cluster\n  paasport:acme_email: "
                                                      "ops@example.com\n  paasport:zzz_unheard_of: 1\n")
    assert config_problems("cluster") == [
        "paasport:zzz_unheard_of (Pulumi.cluster.yaml) is not a setting of this program. Fix: remove it, or use one "
        "of the keys Pulumi.yaml documents."]


def test_a_key_set_outside_the_stack_file_is_named_as_such(project_copy, monkeypatch):
    # An ESC environment or `pulumi config set` into another file: the engine hands it over like the others.
    monkeypatch.setenv("PULUMI_CONFIG", '{"paasport:hostnme": "shop.example.com"}')
    assert config_problems("k8s") == [
        "paasport:hostnme (the stack's configuration, not Pulumi.k8s.yaml) is not a setting of this program; did "
        "you mean `hostname`? Fix: write `paasport:hostname` instead."]


@pytest.mark.parametrize(("overrides", "secrets", "says"), [
    (["replcas=3"], [], "paasport:replcas (--config replcas=3) is not a setting of this program; did you mean "
                        "`replicas`? Fix: write --config replicas=3 instead."),
    (["paasport:hostnme=shop.example.com"], [],
     "paasport:hostnme (--config paasport:hostnme=shop.example.com) is not a setting of this program; did you mean "
     "`hostname`? Fix: write --config hostname=shop.example.com instead."),
    (["config_vars.MAIL_FROM=shop@example.com"], [],
     "paasport:config_vars.MAIL_FROM (--config config_vars.MAIL_FROM=shop@example.com) is not a setting of this "
     "program; did you mean `config_vars`? Fix: write --config config_vars='{\"MAIL_FROM\": \"shop@example.com\"}' "
     "instead."),
    # a secret's value never enters the message
    ([], ["registry_pasword=hunter2"], "paasport:registry_pasword (--secret-config registry_pasword=…) is not a "
                                       "setting of this program; did you mean `registry_password`? Fix: write "
                                       "--secret-config registry_password=… instead."),
], ids=["typo", "namespaced", "path-form", "secret"])
def test_a_mistyped_offline_option_is_refused_naming_the_option(overrides, secrets, says):
    assert config_problems("k8s", overrides, secrets) == [says]


def test_keys_of_other_namespaces_are_their_providers():
    assert offline_plan.run("k8s", ["kubernetes:context=prod"]).resources
    assert offline_plan.run("heroku", [], ["heroku:apiKey=key"]).resources


def test_the_cli_prints_the_refusal_without_a_traceback():
    from tests.support import offline_cli
    result = offline_cli("plan", "--stack", "k8s", "--config", "replcas=3")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "did you mean `replicas`? Fix: write --config replicas=3 instead." in result.stderr
