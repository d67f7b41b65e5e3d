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


def _with_worker(tmp_path, monkeypatch, worker: dict) -> str:
    """The override for a copy of the fastapi-pgqueuer fixture whose app.json formation gives `worker` these
    fields (web runs on the stack's dyno_size)."""
    import json
    import shutil

    from tests.support import REPO

    app = tmp_path / "app"
    shutil.copytree(REPO / "tests/fixtures/apps/fastapi-pgqueuer", app)
    manifest = json.loads((app / "app.json").read_text())
    manifest["formation"]["worker"] = worker
    (app / "app.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return f"app_dir={app}"


def _worker_problems(tmp_path, monkeypatch, worker: dict, *overrides: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        offline_plan.run("heroku", [_with_worker(tmp_path, monkeypatch, worker), *overrides])
    return [line.strip("- ") for line in str(caught.value).splitlines()[1:]]


def test_a_worker_formation_heroku_would_refuse_is_refused_at_preview(tmp_path, monkeypatch):
    # The defects: a basic worker scaled to 3 (inheriting dyno_size basic), and a performance-l worker beside a
    # basic web, were accepted; Heroku refuses both (dyno-tiers: one eco/basic dyno per process type; dyno-types,
    # "Mixing dyno types": eco and basic only with their own kind).
    assert _worker_problems(tmp_path / "a", monkeypatch, {"quantity": 3}) == [
        f"paasport:app_dir {tmp_path / 'a' / 'app'}/app.json formation.worker.quantity: is 3, but its basic "
        "(dyno_size, as it sets no size) dynos cannot scale beyond 1 (Heroku runs one eco or basic dyno per process "
        "type). Fix: use quantity 1, or set formation.worker.size and dyno_size to standard-1x or larger."]
    (mixed,) = _worker_problems(tmp_path / "b", monkeypatch, {"quantity": 1, "size": "performance-l"})
    assert mixed.endswith(
        "/app.json formation.worker.size: is performance-l, beside web's basic (dyno_size), but Heroku runs eco "
        "dynos only with eco, basic only with basic, and mixes only standard and performance sizes across process "
        "types. Fix: set formation.worker.size to basic (or leave it out), or dyno_size to standard-1x or larger.")
    (down,) = _worker_problems(tmp_path / "c", monkeypatch, {"quantity": 1, "size": "eco"}, "dyno_size=standard-1x")
    assert "formation.worker.size: is eco, beside web's standard-1x" in down
    assert "Fix: set formation.worker.size to standard-1x or larger (or leave it out)." in down


def test_worker_formations_heroku_accepts_plan(tmp_path, monkeypatch):
    worker = _with_worker(tmp_path, monkeypatch, {"quantity": 3, "size": "performance-l"})
    plan = offline_plan.run("heroku", [worker, "dyno_size=standard-2x"])
    assert {(f["type"], f["size"], f["quantity"]) for f in map(obj, plan.find(t.HEROKU_FORMATION))} == {
        ("web", "standard-2x", 1), ("worker", "performance-l", 3)}
