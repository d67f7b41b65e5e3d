"""The container contract without Docker: the Dockerfile and heroku.yml start the app as written."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from conftest import APP_DIR, clean_env, serving

DOCKERFILE = APP_DIR / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def heroku_yml() -> dict:
    return yaml.safe_load((APP_DIR / "heroku.yml").read_text())


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--config", str(APP_DIR / ".hadolint.yaml"), str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_multi_stage_and_runs_as_an_unprivileged_user():
    assert sum(keyword == "FROM" for keyword, _ in instructions()) >= 2
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the final stage must switch away from root"
    uid, _, gid = users[-1].partition(":")
    assert int(uid) >= 10000 and int(gid) >= 10000  # numeric, so runAsNonRoot can verify it


def test_final_image_has_no_compilers_or_remote_shells():
    runs = " ".join(args for keyword, args in final_stage() if keyword == "RUN")
    for tool in ("gcc", "build-essential", "curl", "wget", "openssh", "ssh-client", "git"):
        assert not re.search(rf"\b{tool}\b", runs), f"{tool} does not belong in the final image"
    assert "postgresql-client" in runs, "the seed command needs pg_restore"


def test_dockerignore_sends_only_the_app():
    lines = (APP_DIR / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    assert {"!actors/", "!gunicorn.conf.py", "!requirements.txt"} <= set(patterns)


def test_exposed_port_matches_the_default_port():
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(args for keyword, args in final_stage() if keyword == "ENV")))
    exposed = [args for keyword, args in final_stage() if keyword == "EXPOSE"]
    assert exposed == [env["PORT"]]


def test_dockerfile_cmd_starts_the_app(actors_database_url):
    [cmd] = [args for keyword, args in final_stage() if keyword == "CMD"]
    command = json.loads(cmd)  # exec form: gunicorn is PID 1 and gets SIGTERM itself
    assert command[0] == "gunicorn"
    with serving(command, clean_env(DATABASE_URL=actors_database_url)) as server:
        response = httpx.get(f"{server.url}/api/actors")
        assert response.status_code == 200
        assert response.json()["count"] == 5


def test_heroku_yml_builds_the_dockerfile_and_releases_with_the_seed_command():
    manifest = heroku_yml()
    assert manifest["build"]["docker"]["web"] == "Dockerfile"
    assert (APP_DIR / manifest["build"]["docker"]["web"]).is_file()
    assert manifest["release"]["image"] == "web"
    assert manifest["release"]["command"] == ["python -m actors.seed"]


def test_heroku_release_command_is_a_no_op_on_loaded_data(actors_database_url, pg_tools_path):
    [command] = heroku_yml()["release"]["command"]
    result = subprocess.run(
        shlex.split(command),
        cwd=APP_DIR,
        env=clean_env(DATABASE_URL=actors_database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already loaded" in (result.stdout + result.stderr).lower()


def test_heroku_web_command_starts_the_app(actors_database_url):
    command = heroku_yml()["run"]["web"]  # Heroku runs it with /bin/sh -c
    with serving(command, clean_env(DATABASE_URL=actors_database_url), shell=True) as server:
        assert httpx.get(f"{server.url}/").status_code == 200


def test_gunicorn_stops_cleanly_on_sigterm():
    [cmd] = [args for keyword, args in final_stage() if keyword == "CMD"]
    with serving(json.loads(cmd), clean_env()) as server:
        pass  # leaving the block sends SIGTERM, as both platforms do
    assert server.process.returncode == 0
    assert "Shutting down: Master" in server.output
