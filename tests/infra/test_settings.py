"""The program-wide settings: one program dispatching on `platform`, every key it reads documented in Pulumi.yaml
with its one default, and nothing documented that the program does not read."""

from __future__ import annotations

import json

import pytest
import yaml

from infra import settings
from infra.settings import ConfigError
from offline import plan as offline_plan
from offline import types as t
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
    load_config = offline_plan._load_config

    def without_replicas(*args, **kwargs):
        project, config, secret_keys, given = load_config(*args, **kwargs)
        config.pop("paasport:replicas")
        return project, config, secret_keys, given

    monkeypatch.setattr(offline_plan, "_load_config", without_replicas)
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
    (["confg_vars.MAIL_FROM=shop@example.com"], [],
     "paasport:confg_vars (--config confg_vars.MAIL_FROM=shop@example.com) is not a setting of this program; did you "
     "mean `config_vars`? Fix: write --config config_vars.MAIL_FROM=shop@example.com instead."),
    # a secret's value never enters the message
    ([], ["registry_pasword=hunter2"], "paasport:registry_pasword (--secret-config registry_pasword=…) is not a "
                                       "setting of this program; did you mean `registry_password`? Fix: write "
                                       "--secret-config registry_password=… instead."),
], ids=["typo", "namespaced", "path into a mistyped key", "secret"])
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


def test_a_key_without_a_namespace_in_the_stack_file_is_refused_as_the_cli_refuses_it(project_copy):
    # pulumi/pulumi sdk/go/common/resource/config/key.go, ParseKey: a stack file's keys are `<namespace>:<name>`.
    stack_file = project_copy / "Pulumi.k8s.yaml"
    stack_file.write_text(stack_file.read_text() + "  hostnme: shop.example.com\n  replicas: 3\n")
    assert config_problems("k8s") == [
        "paasport:hostnme (Pulumi.k8s.yaml) is not a setting of this program; did you mean `hostname`? Fix: write "
        "`paasport:hostname` instead.",
        "Pulumi.k8s.yaml key `replicas` has no namespace, and the CLI reads only `<namespace>:<key>` there. Fix: "
        "write `paasport:replicas` instead."]


# --- the path form: `pulumi config set --path config_vars.MAIL_FROM x`, offline ------------------------------------


def config_vars_read(plan: offline_plan.Plan) -> object:
    return json.loads(plan.config["paasport:config_vars"])


@pytest.mark.parametrize(("overrides", "expected"), [
    # into the stack file's own config_vars (Pulumi.heroku.yaml sets DB_STATEMENT_TIMEOUT_MS)
    (["config_vars.MAIL_FROM=shop@example.com"], {"DB_STATEMENT_TIMEOUT_MS": "3000", "MAIL_FROM": "shop@example.com"}),
    # pulumi's adjustObjectValue: true/false are booleans, whole numbers integers unless they start with 0
    (["config_vars.A=true", "config_vars.B=42", "config_vars.C=007", "config_vars.D=-1"],
     {"DB_STATEMENT_TIMEOUT_MS": "3000", "A": True, "B": 42, "C": "007", "D": -1}),
    # a quoted name, and a whole value given before a path into it
    (['config_vars={"X": "1"}', 'config_vars["Y"]=two'], {"X": "1", "Y": "two"}),
], ids=["into the file's object", "typed as pulumi types them", "quoted, after a whole value"])
def test_a_path_option_sets_a_part_of_the_key_as_pulumi_config_set_path_does(overrides, expected):
    plan = offline_plan.run("heroku", overrides, name_options=True)
    assert config_vars_read(plan) == expected
    (app,) = plan.find(t.HEROKU_APP)
    assert {k: v for k, v in app.inputs["configVars"].items() if k in expected} == {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in expected.items()}


def test_a_path_into_a_key_the_stack_does_not_set_starts_from_an_empty_object():
    # Pulumi.yaml's default ({}) is not merged: the stack's value replaces it, as the CLI writes it.
    plan = offline_plan.run("k8s", ["config_vars.MAIL_FROM=shop@example.com"], name_options=True)
    assert config_vars_read(plan) == {"MAIL_FROM": "shop@example.com"}


def test_a_secret_path_makes_the_whole_key_a_secret():
    plan = offline_plan.run("heroku", [], ["config_vars.SENTRY_DSN=https://key@sentry.example.com/1"],
                            name_options=True)
    assert "paasport:config_vars" in plan.config and config_vars_read(plan)["SENTRY_DSN"].startswith("https://")
    (app,) = plan.find(t.HEROKU_APP)
    assert "SENTRY_DSN" not in app.inputs["configVars"]  # a secret key's variables go to sensitive_config_vars
    assert "SENTRY_DSN" in offline_plan.reveal(app.inputs["sensitiveConfigVars"], show_secrets=True)


@pytest.mark.parametrize(("overrides", "message"), [
    (["config_vars[=x"],
     "--config config_vars[=…: 'config_vars[' is not a key path `pulumi config set --path` reads (it stops at "
     "character 12). Fix: write KEY.NAME=VALUE, or KEY[\"NAME\"]=VALUE for a name with dots."),
    (["config_vars.DB_STATEMENT_TIMEOUT_MS.MS=1"],
     "--config config_vars.DB_STATEMENT_TIMEOUT_MS.MS=1: config_vars's value at 'MS' is text, not an object. Fix: "
     "give the path of a part that is an object, or the whole value of config_vars."),
    (["config_vars=plain", "config_vars.X=1"],
     "--config config_vars.X=1: the stack's config_vars is text, not an object, so the path has nothing to go into. "
     "Fix: give the whole value, e.g. --config config_vars='{\"NAME\": \"value\"}'."),
    (["config_vars.LIST[2]=x"],
     "--config config_vars.LIST[2]=x: index 2 is beyond the end of a list of 0. Fix: use an index from 0 to 0."),
], ids=["unclosed bracket", "into text", "into a plain value", "beyond a list"])
def test_a_path_that_cannot_be_set_is_one_line(overrides, message):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("heroku", overrides, name_options=True)
    assert str(caught.value) == message


# --- a bad value names where it came from ------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "overrides", "secrets", "line"), [
    ("k8s", ["replicas=abc"], [],
     "paasport:replicas (--config replicas) is 'abc', not a whole number. Fix: give --config replicas=2 instead."),
    ("k8s", [], ["hostname=Bad_Host"],
     "paasport:hostname (--secret-config hostname) is a value (its value is not shown: it is a secret), which is not "
     "an RFC 1123 DNS name (lowercase letters, digits, '-', '.'). Fix: give --secret-config "
     "hostname=paasport.example.com instead."),
    ("k8s", ["registry_password=hunter2"], [],
     "paasport:registry_password (--config registry_password) is a secret given in plain config, where it would be "
     "stored and shown in plain text (its value is not shown: it is a secret). Fix: give --secret-config "
     "registry_password=\"$REGISTRY_TOKEN\" instead."),
    ("heroku", ["config_vars.bad-name=x"], [],
     "paasport:config_vars (Pulumi.heroku.yaml and --config config_vars.bad-name) has 'bad-name', which is not an "
     "environment variable name (letters, digits, '_'). Fix: give --config config_vars='{\"FEATURE_X\": \"on\"}' "
     "instead."),
], ids=["plain", "secret", "a secret given plain", "a path into the file's object"])
def test_a_bad_option_value_is_blamed_on_the_option_not_the_stack_file(stack, overrides, secrets, line):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run(stack, [f"app_dir={REPO / 'app'}", *overrides], secrets, name_options=True)
    assert str(caught.value).splitlines() == [
        f"Invalid configuration of stack {stack!r} (Pulumi.{stack}.yaml and command-line options):", f"  - {line}"]
    assert "hunter2" not in str(caught.value)


def test_the_same_value_written_into_the_stack_file_is_blamed_on_the_file():
    # `pulumi preview --config replicas=abc` writes it into Pulumi.k8s.yaml first: there the file is where it is.
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", ["replicas=abc"])
    assert str(caught.value).splitlines() == [
        "Invalid configuration of stack 'k8s' (Pulumi.k8s.yaml):",
        "  - paasport:replicas is 'abc', not a whole number. Fix: in Pulumi.k8s.yaml set `paasport:replicas: 2` (or "
        "run `pulumi config set --stack k8s replicas 2`)."]


# --- a stack file that is not YAML: one line with the file, the line and the column --------------------------------

K8S_FILE = (REPO / "Pulumi.k8s.yaml").read_text()
BROKEN = {
    "a tab": (K8S_FILE.replace("  paasport:replicas: 2\n", "\tpaasport:replicas: 2\n"),
              "Pulumi.k8s.yaml line 8 column 1: is not valid YAML (found character '\\t' that cannot start any "
              "token). Fix: correct it there (each setting is `  paasport:<key>: value` under `config:`, indented "
              "with spaces)."),
    "an unclosed bracket": (
        K8S_FILE.replace("paasport:hostname: paasport.example.com", "paasport:hostname: [paasport.example.com"),
        "Pulumi.k8s.yaml line 6 column 20: is not valid YAML (expected ',' or ']', but got ':', while parsing a flow "
        "sequence at line 5 column 22). Fix: correct it there (each setting is `  paasport:<key>: value` under "
        "`config:`, indented with spaces)."),
    "a list": ("- paasport:platform: k8s\n",
               "Pulumi.k8s.yaml holds a list, not a mapping of settings. Fix: write `config:` and under it one "
               "`  paasport:<key>: value` per line."),
    "config as a list": ("config:\n  - paasport:platform\n",
                         "Pulumi.k8s.yaml `config:` holds a list, not a mapping of settings. Fix: write `config:` and "
                         "under it one `  paasport:<key>: value` per line."),
}


@pytest.mark.parametrize(("text", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_a_stack_file_that_is_not_yaml_is_one_line(project_copy, text, message):
    (project_copy / "Pulumi.k8s.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s", [f"app_dir={REPO / 'app'}"])
    assert str(caught.value) == message


def test_every_reader_of_a_stack_file_says_the_same_line(project_copy, monkeypatch):
    import infra.cluster.settings as cluster_settings
    import move.stacks
    from move.db import MoveError

    text, message = BROKEN["a tab"]
    (project_copy / "Pulumi.k8s.yaml").write_text(text)
    monkeypatch.setattr(cluster_settings, "PROJECT_DIR", project_copy)
    monkeypatch.setattr(move.stacks, "PROJECT_DIR", project_copy)
    # the cluster stack reads the k8s stacks it serves (app_stacks)
    assert config_problems("cluster", ["app_stacks=k8s"]) == [
        f"paasport:app_stacks names stack 'k8s', whose file cannot be read: {message.split('. Fix: ')[0]}. Fix: "
        "correct Pulumi.k8s.yaml there, or drop k8s from app_stacks."]
    # `make move` finds a stack's platform in it
    with pytest.raises(MoveError) as caught, move.stacks.resolve("k8s", "source"):
        pass
    assert str(caught.value) == message


def test_a_project_file_that_is_not_yaml_is_one_line(project_copy):
    project = project_copy / "Pulumi.yaml"
    project.write_text(project.read_text().replace("  image:\n", "  image:\n  x\n", 1))
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("k8s")
    assert str(caught.value) == ("Pulumi.yaml line 36 column 9: is not valid YAML (could not find expected ':', while "
                                 "scanning a simple key at line 35 column 3). Fix: correct it there.")


def test_the_cli_prints_a_yaml_error_as_one_line(project_copy, capsys):
    (project_copy / "Pulumi.k8s.yaml").write_text(BROKEN["a tab"][0])
    assert offline_plan.main(["--stack", "k8s"]) == 2  # the one line below, and no traceback
    assert capsys.readouterr().err.splitlines() == ["error: " + BROKEN["a tab"][1]]
