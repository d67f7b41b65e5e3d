"""Bad heroku settings fail before anything is created, with one message naming the key and the fix."""

from __future__ import annotations

import shlex

import pytest
import yaml

from infra import plan as infra_plan
from infra.heroku_registry import release_dockerfile
from infra.settings import ConfigError
from tests.conftest import APP_DIR, REPO


@pytest.mark.parametrize(
    ("override", "key", "says"),
    [
        ("app_name=Paasport", "paasport:app_name", "not a Heroku app name"),
        ("app_name=1paasport", "paasport:app_name", "a lowercase letter first"),
        ("app_name=ab", "paasport:app_name", "3 to 30 characters"),
        ("app_name=" + "a" * 31, "paasport:app_name", "3 to 30 characters"),
        ("app_name=", "paasport:app_name", "is missing"),
        ("dyno_size=hobby", "paasport:dyno_size", "not one of eco, basic, standard-1x"),
        ("dyno_quantity=2", "paasport:dyno_quantity", "basic dynos cannot scale beyond 1"),
        ("dyno_quantity=0", "paasport:dyno_quantity", "between 1 and 100"),
        ("dyno_size=eco", "paasport:dyno_size", "no automatic certificate (ACM)"),
        ("postgres_plan=mini", "paasport:postgres_plan", "not one of essential-0"),
        ("domain=Not_A_Host", "paasport:domain", "a hostname like app.example.com"),
        ("domain=localhost", "paasport:domain", "not a fully qualified hostname"),
        ("deploy=git", "paasport:deploy", "not one of build, registry"),
        ("region=ap", "paasport:region", "not one of us, eu"),
        ('config_vars={"DATABASE_URL": "postgres://x"}', "paasport:config_vars", "sets DATABASE_URL"),
        ('config_vars={"bad-name": "x"}', "paasport:config_vars", "not an environment variable NAME"),
        ("config_vars=[1, 2]", "paasport:config_vars", "not an object"),
    ],
)
def test_bad_heroku_config_fails_with_a_message_naming_key_stack_file_and_fix(override, key, says):
    with pytest.raises(ConfigError) as caught:
        infra_plan.run("heroku", [override])
    line = next(line for line in str(caught.value).splitlines() if key in line)
    assert says in line
    assert f"Fix: in Pulumi.heroku.yaml set `{key}: " in line


def test_scaling_needs_a_scalable_size_and_eco_needs_no_domain():
    assert infra_plan.run("heroku", ["dyno_size=standard-1x", "dyno_quantity=4"])
    assert infra_plan.run("heroku", ["dyno_size=eco", "domain="])


def test_the_heroku_stack_file_sets_every_heroku_key():
    stack = yaml.safe_load((REPO / "Pulumi.heroku.yaml").read_text())["config"]
    assert stack["paasport:platform"] == "heroku"
    for key in ("app_name", "region", "dyno_size", "dyno_quantity", "postgres_plan", "domain", "deploy",
                "config_vars"):
        assert f"paasport:{key}" in stack, key


def test_heroku_yml_builds_the_dockerfile_and_releases_with_the_seed_command():
    manifest = yaml.safe_load((APP_DIR / "heroku.yml").read_text())
    dockerfile = APP_DIR / manifest["build"]["docker"]["web"]
    assert dockerfile.is_file()
    assert manifest["release"]["image"] == "web"
    (command,) = manifest["release"]["command"]
    assert shlex.split(command) == ["python", "-m", "actors.seed"]
    assert (APP_DIR / "actors" / "seed.py").is_file()
    web = shlex.split(manifest["run"]["web"])
    cmd = next(line for line in dockerfile.read_text().splitlines() if line.startswith("CMD "))
    assert web == yaml.safe_load(cmd.removeprefix("CMD "))  # the same start command as the image's CMD
    assert (APP_DIR / web[web.index("--config") + 1]).is_file()


def test_the_registry_release_image_runs_heroku_ymls_release_command():
    dockerfile = release_dockerfile(APP_DIR / "heroku.yml")
    assert dockerfile.splitlines() == ["ARG WEB_IMAGE", "FROM ${WEB_IMAGE}", 'CMD ["python", "-m", "actors.seed"]']
