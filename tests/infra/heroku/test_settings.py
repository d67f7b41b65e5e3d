"""Bad heroku settings fail before anything is created, with one message naming the key and the fix."""

from __future__ import annotations

import pytest

from infra.heroku.registry import release_dockerfile
from infra.settings import ConfigError
from offline import plan as offline_plan
from offline import types as t
from tests.support import heroku_plan, obj, one


@pytest.mark.parametrize(
    ("override", "key", "says"),
    [
        ("app_name=Paasport", "paasport:app_name", "not a Heroku app name"),
        ("app_name=1paasport", "paasport:app_name", "a lowercase letter first"),
        ("app_name=ab", "paasport:app_name", "3 to 30 characters"),
        ("app_name=" + "a" * 31, "paasport:app_name", "3 to 30 characters"),
        ("app_name=", "paasport:app_name", "is missing"),
        ("dyno_size=hobby", "paasport:dyno_size", "not one of eco, basic, standard-1x"),
        ("dyno_quantity=2", "paasport:dyno_quantity", "dynos cannot scale beyond 1"),
        ("dyno_quantity=0", "paasport:dyno_quantity", "between 1 and 100"),
        ("dyno_size=eco", "paasport:dyno_size", "no automatic certificate (ACM)"),
        ("postgres_plan=mini", "paasport:postgres_plan", "not one of essential-0"),
        ("domain=Not_A_Host", "paasport:domain", "a hostname like app.example.com"),
        ("domain=localhost", "paasport:domain", "not a fully qualified hostname"),
        ("deploy=git", "paasport:deploy", "not one of build, registry"),
        ("region=ap", "paasport:region", "not one of us, eu"),
        ('config_vars={"DATABASE_URL": "postgres://x"}', "paasport:config_vars", "sets DATABASE_URL"),
        ('config_vars={"bad-name": "x"}', "paasport:config_vars", "not an environment variable name"),
        ("config_vars=[1, 2]", "paasport:config_vars", "not a JSON object"),
    ],
)
def test_bad_heroku_config_fails_with_a_message_naming_key_stack_file_and_fix(override, key, says):
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("heroku", [override])
    line = next(line for line in str(caught.value).splitlines() if key in line)
    assert says in line
    assert f"Fix: in Pulumi.heroku.yaml set `{key}: " in line


def test_scaling_needs_a_scalable_size_and_eco_needs_no_domain():
    formation = obj(one(heroku_plan("dyno_size=standard-1x", "dyno_quantity=4"), t.HEROKU_FORMATION))
    assert (formation["size"], formation["quantity"]) == ("standard-1x", 4)
    eco = heroku_plan("dyno_size=eco", "domain=")
    assert obj(one(eco, t.HEROKU_FORMATION))["size"] == "eco"
    assert not eco.find(t.HEROKU_DOMAIN) and not eco.find(t.APP_ACM)


def test_the_registry_release_image_runs_the_procfiles_release_command():
    dockerfile = release_dockerfile("python -m actors.seed")
    assert dockerfile.splitlines() == ["ARG WEB_IMAGE", "FROM ${WEB_IMAGE}", 'CMD ["python", "-m", "actors.seed"]']
