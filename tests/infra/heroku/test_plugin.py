"""The heroku stack's dynamic resources run as the engine runs them (tests/infra/engine/plugin.py): a launcher that
does what Pulumi's does starts `python -m pulumi.dynamic` in infra/, with Pulumi.yaml's runtime options, and is
spoken to over gRPC with the exact inputs and pickled provider the program registered (offline.plan), against the
Heroku stand-in.

The only inputs changed are where the stand-in answers (`api_url`, `registry_url`) and the values the engine would
take from other resources' real outputs (the Build's `release_id`, the pushed manifests' digests).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from infra.heroku import release_api
from infra.paths import PROGRAM_DIR, PROJECT_DIR
from offline import plan as offline_plan
from offline import types as t
from tests.infra.engine import plugin

KEY = "hrku-standin-key"
WEB_CONFIG = "sha256:" + "a" * 64
RELEASE_CONFIG = "sha256:" + "b" * 64
# The stack as a user has it: the API key only in stack config, set with `pulumi config set --secret`.
CONFIG = ("app_name=acme-paasport", "domain=www.example.com", "dyno_size=basic")
SECRETS = (f"heroku:apiKey={KEY}",)
# A by-value pickle of the ACM provider as 3c53d60 stored it (bytecode of the Python 3.11 that pickled it).
LEGACY_ACM = Path(__file__).with_name("legacy_acm_provider.b64")


@pytest.fixture
def home(tmp_path) -> Path:
    """The plugin's HOME: no ~/.netrc, and the test's own process has no HEROKU_API_KEY to pass on."""
    return tmp_path


def registered(*overrides: str) -> dict[str, offline_plan.Registration]:
    """The dynamic resources of the heroku stack, by type, as the program registers them."""
    plan = offline_plan.run("heroku", [*CONFIG, *overrides], list(SECRETS))
    return {r.type: r for r in plan.resources if r.type.startswith("pulumi-python:")}


def engine_config() -> tuple[dict[str, str], tuple[str, ...]]:
    """What the engine hands a dynamic provider's Configure: every key of the stack, namespaced."""
    _, config, secret_keys = offline_plan.load_config("heroku", list(CONFIG), list(SECRETS))
    return config, tuple(secret_keys)


def inputs(reg: offline_plan.Registration, heroku, **engine_values: Any) -> dict[str, Any]:
    """The registered inputs as the engine sends them (secrets plain: the plugin does not accept secrets)."""
    props = offline_plan.reveal(reg.inputs, show_secrets=True)
    return {**props, "api_url": heroku.api_url, **({"registry_url": heroku.registry_url}
                                                   if "registry_url" in props else {}), **engine_values}


def configured(p: plugin.Plugin) -> plugin.Plugin:
    p.configure(*engine_config())
    return p


# ---- item 1: the launcher finds the virtualenv from infra/


def _python_in(venv: Path) -> Path:
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    return venv / "bin" / "python"


def test_the_launcher_runs_the_virtualenv_s_python_as_pulumi_s_launcher_does(tmp_path):
    """The harness's launcher against Pulumi's (pulumi/pulumi `sdk/python/dist/pulumi-resource-pulumi-python`):
    relative to the working directory, one trailing slash dropped, its bin/ first on PATH, no PYTHONHOME."""
    _python_in(tmp_path / ".venv")
    engine = {"PULUMI_RUNTIME_TOOLCHAIN": "pip", "PULUMI_RUNTIME_VIRTUALENV": ".venv/", "PATH": "/usr/bin:/bin",
              "PYTHONHOME": "/opt/python", "HOME": "/home/me"}
    argv, env = plugin.launch_command(["127.0.0.1:0"], engine, str(tmp_path))
    assert argv == [f"{tmp_path}/.venv/bin/python", "-u", "-m", "pulumi.dynamic", "127.0.0.1:0"]
    assert env == {"PULUMI_RUNTIME_TOOLCHAIN": "pip", "PULUMI_RUNTIME_VIRTUALENV": ".venv/",
                   "PATH": f"{tmp_path}/.venv/bin:/usr/bin:/bin", "HOME": "/home/me"}
    # an absolute virtualenv as it is; uv's default .venv; no virtualenv: PULUMI_PYTHON_CMD, else python3
    elsewhere = _python_in(tmp_path / "other")
    assert plugin.launch_command([], {"PULUMI_RUNTIME_VIRTUALENV": str(tmp_path / "other")}, "/nowhere")[0][0] == \
        str(elsewhere)
    assert plugin.launch_command([], {"PULUMI_RUNTIME_TOOLCHAIN": "uv"}, str(tmp_path))[0][0] == \
        f"{tmp_path}/.venv/bin/python"
    assert plugin.launch_command([], {"PULUMI_PYTHON_CMD": "python3.12"}, "/nowhere")[0][0] == "python3.12"
    assert plugin.launch_command([], {}, "/nowhere")[0] == ["python3", "-u", "-m", "pulumi.dynamic"]


def test_the_launcher_refuses_a_virtualenv_without_python_and_names_it(home, tmp_path):
    with pytest.raises(plugin.PluginExited) as caught, plugin.running(home, virtualenv="no-such-venv"):
        pass
    assert str(caught.value) == (
        f"the plugin exited (1) before serving: no {PROGRAM_DIR}/no-such-venv/bin/python: the virtualenv option of "
        f"Pulumi.yaml, taken from the plugin's working directory {PROGRAM_DIR}, names {PROGRAM_DIR}/no-such-venv, "
        f"which does not exist. Make it a virtualenv with {PROGRAM_DIR}/requirements.txt installed.")
    (tmp_path / "empty").mkdir()
    with pytest.raises(plugin.LauncherRefused, match=f"names {tmp_path}/empty, which is a directory without it"):
        plugin.launch_command([], {"PULUMI_RUNTIME_VIRTUALENV": "empty"}, str(tmp_path))


def test_the_launcher_finds_pulumi_yaml_s_virtualenv_from_the_program_directory(home):
    """Pulumi.yaml's `virtualenv: .venv` is resolved by the language host against the project root, but by the
    plugin launcher against its working directory, infra/ (pulumi/pulumi#7061): infra/.venv must lead there."""
    with plugin.running(home) as p:
        assert p.info() == "0.1.0"
    # relative, so that it holds in every clone, on Linux and macOS
    assert (PROGRAM_DIR / ".venv").readlink() == Path("../.venv")
    assert (PROGRAM_DIR / ".venv").resolve() == (PROJECT_DIR / ".venv").resolve()


# ---- items 2, 4 (heroku build mode), 7: the build and ACM steps through the plugin


def test_acm_is_enabled_and_disabled_with_the_key_only_in_stack_config(heroku, home):
    """Delete gets only the saved outputs; the key comes from the stack config the engine hands Configure."""
    reg = registered()[t.APP_ACM]
    heroku.formation["web"] = {"size": "basic", "quantity": 1}
    with plugin.running(home) as p:
        configured(p)
        news = p.check(reg.urn, {}, inputs(reg, heroku))
        id_, outs = p.create(reg.urn, news)
        assert id_ == "acme-paasport/acm" and outs["acm"] is True and "api_key" not in outs
        assert heroku.acm is True
        assert p.diff(reg.urn, id_, outs, news).changes == provider_pb2.DiffResponse.DIFF_NONE
        assert p.read(reg.urn, id_, outs) == (id_, outs)
        p.delete(reg.urn, id_, outs)
    assert heroku.acm is False
    assert heroku.calls()[-1] == ("DELETE", "/apps/acme-paasport/acm")


def test_a_failed_build_release_is_one_line_and_runs_again_on_the_next_up(heroku, home):
    reg = registered()[t.BUILD_RELEASE]
    failed = heroku.add_release("pending", "failed", description="Deploy 1a2b3c4d",
                                output_stream_url="https://release-output.heroku.com/streams/f")
    news = inputs(reg, heroku, release_id=failed.id, poll_seconds=0)
    with plugin.running(home) as p:
        configured(p)
        checked = p.check(reg.urn, {}, news)
        with pytest.raises(plugin.PluginError) as caught:
            p.create(reg.urn, checked)
        assert caught.value.details == (
            "paasport build release (create): Heroku release v2 of acme-paasport failed: Deploy 1a2b3c4d; its output: "
            "curl https://release-output.heroku.com/streams/f (or `heroku releases:output 2 --app acme-paasport`)")
        assert heroku.release_creates == []

        # The user fixes the cause and runs `pulumi up` again: same build, same release_id, create again.
        heroku.next_release_statuses = ["pending", "succeeded"]
        id_, outs = p.create(reg.urn, checked)
    # `heroku releases:retry`: a new release of the failed one's slug
    assert heroku.release_creates == [{"slug": heroku.release_answer(failed)["slug"]["id"],
                                       "description": "Retry of v2: Deploy 1a2b3c4d"}]
    assert (id_, outs["release_version"], outs["release_id"]) == (f"acme-paasport/{failed.id}", 3, failed.id)


def test_a_refused_call_names_the_step_and_heroku_s_message_in_one_line(heroku, home):
    reg = registered()[t.APP_ACM]  # no paid dyno runs yet: Heroku refuses ACM
    with plugin.running(home) as p:
        configured(p)
        with pytest.raises(plugin.PluginError) as caught:
            p.create(reg.urn, p.check(reg.urn, {}, inputs(reg, heroku)))
    assert caught.value.details == (
        "paasport ACM (enable): Heroku API POST /apps/acme-paasport/acm failed with 422 invalid_params: Automated "
        "Certificate Management requires the app to run a dyno of a paid size (Basic or larger). (Heroku refused the "
        "change; for a release: are the images pushed to registry.heroku.com/<app>/<process>?)")


# ---- the registry mode's release through the plugin


def test_the_container_release_through_the_plugin_releases_once(heroku, home):
    reg = registered("deploy=registry")[t.CONTAINER_RELEASE]
    manifests = {"web": heroku.push("web", WEB_CONFIG), "release": heroku.push("release", RELEASE_CONFIG)}
    with plugin.running(home) as p:
        configured(p)
        news = p.check(reg.urn, {}, inputs(reg, heroku, manifests=manifests, poll_seconds=0))
        id_, outs = p.create(reg.urn, news)
        assert outs["images"] == {"web": WEB_CONFIG, "release": RELEASE_CONFIG}
        assert p.diff(reg.urn, id_, outs, news).changes == provider_pb2.DiffResponse.DIFF_NONE
    assert [c for c in heroku.calls() if c[0] == "PATCH"] == [("PATCH", "/apps/acme-paasport/formation")]


# ---- item 3: the stored provider is today's code, on any supported Python


def test_the_stored_provider_names_this_file_not_its_bytecode():
    """A by-reference pickle: the standard library's runpy and operator, this file's path, the class's name."""
    pickled = base64.b64decode(serialize_provider(release_api.AcmProvider()))
    assert b"heroku/release_api.py" in pickled and b"AcmProvider" in pickled
    assert len(pickled) < 200, len(pickled)  # a by-value pickle of the same provider is about 12 kB


def test_a_resource_stored_with_an_older_provider_gets_today_s_without_a_second_release(heroku, home):
    """The diff sees the stored `__provider` differ and the update stores today's, calling Heroku for nothing;
    delete and refresh then run today's code."""
    reg = registered()[t.APP_ACM]
    news = inputs(reg, heroku)
    olds = {**{k: news[k] for k in ("app", "api_url")}, "acm": True, "__provider": LEGACY_ACM.read_text().strip()}
    heroku.acm = True
    with plugin.running(home) as p:
        configured(p)
        checked = p.check(reg.urn, olds, news)
        diff = p.diff(reg.urn, "acme-paasport/acm", olds, checked)
        assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == []
        outs = p.update(reg.urn, "acme-paasport/acm", olds, checked)
        assert outs == {"app": "acme-paasport", "api_url": heroku.api_url, "acm": True,
                        "__provider": news["__provider"]}
        assert heroku.requests == []  # no second release, no API call
        p.delete(reg.urn, "acme-paasport/acm", outs)  # today's delete: the key from the stack config
    assert heroku.acm is False


def _other_python() -> str | None:
    """A supported Python (3.11+) of another minor version than this one, if the machine has one."""
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    for minor in ("3.13", "3.12", "3.11", "3.14"):
        if minor == mine:
            continue
        pyenv = sorted(Path("/root/.pyenv/versions").glob(f"{minor}.*/bin/python"))
        candidates = [shutil.which(f"python{minor}"), *pyenv]
        for candidate in filter(None, candidates):
            probe = subprocess.run([str(candidate), "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
                                   capture_output=True, text=True, timeout=60)
            if probe.returncode == 0 and probe.stdout.strip() == "True":
                return str(candidate)
    return None


@pytest.fixture(scope="session")
def other_venv(tmp_path_factory) -> Path:
    """A virtualenv of another supported Python with the program's pinned pulumi: a user's other machine."""
    python = _other_python()
    if python is None:
        pytest.skip("needs a second Python 3.11+ of another minor version (python3.12, python3.13 or pyenv's) to "
                    "unpickle the providers there")
    venv = tmp_path_factory.mktemp("other-python") / "venv"
    pin = next(line for line in (PROGRAM_DIR / "requirements.txt").read_text().splitlines()
               if line.startswith("pulumi=="))
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", pin],
                   check=True, timeout=600)
    return venv


def test_providers_pickled_here_run_under_another_python(heroku, home, other_venv):
    """CI on one Python makes the stack; a laptop on another refreshes and destroys it."""
    version = subprocess.run([str(other_venv / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version != str(tuple(sys.version_info[:2]))
    regs = registered()
    acm, build = regs[t.APP_ACM], regs[t.BUILD_RELEASE]
    heroku.formation["web"] = {"size": "basic", "quantity": 1}
    with plugin.running(home, virtualenv=str(other_venv)) as p:
        configured(p)
        id_, outs = p.create(acm.urn, p.check(acm.urn, {}, inputs(acm, heroku)))
        assert p.read(acm.urn, id_, outs) == (id_, outs)
        p.delete(acm.urn, id_, outs)
        build_id, build_outs = p.create(build.urn, inputs(build, heroku, release_id=heroku.releases[0].id))
        assert build_outs["release_version"] == 1
        p.delete(build.urn, build_id, build_outs)
    assert heroku.acm is False


def test_a_legacy_by_value_provider_cannot_run_under_another_python(other_venv):
    """Why the providers no longer pickle by value: 3c53d60's ACM provider, pickled on 3.11, loaded elsewhere."""
    code = ("import base64, sys, dill\n"
            "p = dill.loads(base64.b64decode(sys.stdin.read()))\n"
            "print(p.diff('id', {'app': 'a'}, {'app': 'b'}).replaces)\n")
    result = subprocess.run([str(other_venv / "bin" / "python"), "-c", code], input=LEGACY_ACM.read_text(),
                            capture_output=True, text=True, timeout=60, cwd=PROGRAM_DIR)
    assert result.returncode != 0 or result.stdout.strip() != "['app']"

