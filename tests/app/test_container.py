"""The container contract without a container engine: the Dockerfile and the heroku.yml the stack writes from
app/Procfile (infra/contract.py) start the app as written.

What the built image holds, and how it runs on each platform, is in test_image.py (a real builder and runtime).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from devenv.servers import serving as serving_from
from tests.support import APP_DIR, answers, clean_env, port_is_free, serving

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
    """The heroku.yml the Heroku build gets: the stack writes it from the app's Procfile."""
    from infra import contract

    spec, problems = contract.read(APP_DIR)
    assert problems == []
    return yaml.safe_load(contract.heroku_yml(spec))


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


def build_context(destination: Path) -> Path:
    """A copy of what `docker build app/` sends: app/.dockerignore's "*", then its "!" exceptions."""
    rules = [line.strip() for line in (APP_DIR / ".dockerignore").read_text().splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    assert rules[0] == "*", "the context starts empty and names what it takes"
    for rule in rules[1:]:
        if rule.startswith("!"):
            source = APP_DIR / rule[1:].rstrip("/")
            if source.is_dir():
                shutil.copytree(source, destination / source.name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, destination / source.name)
    return destination


def image_cmd() -> list[str]:
    [cmd] = [args for keyword, args in final_stage() if keyword == "CMD"]
    return json.loads(cmd)  # exec form: the server is PID 1 and gets SIGTERM itself


def test_the_build_context_alone_serves_the_app(actors_database_url, tmp_path):
    workdir = build_context(tmp_path)
    with serving_from(image_cmd(), clean_env(DATABASE_URL=actors_database_url), cwd=workdir) as server:
        response = httpx.get(f"{server.url}/api/actors")
        assert response.status_code == 200
        assert response.json()["count"] == 5


def test_the_image_listens_on_its_exposed_port_by_default(actors_database_url):
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(args for keyword, args in final_stage() if keyword == "ENV")))
    [exposed] = [int(args) for keyword, args in final_stage() if keyword == "EXPOSE"]
    if not port_is_free(exposed):
        pytest.skip(f"port {exposed} is taken on this machine")
    process = subprocess.Popen(
        image_cmd(), cwd=APP_DIR, env=clean_env(DATABASE_URL=actors_database_url, PORT=env["PORT"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert answers(f"http://127.0.0.1:{exposed}/healthz"), "nothing answered on the exposed port"
    finally:
        process.terminate()
        process.wait(30)


def test_heroku_release_command_is_a_no_op_on_loaded_data(actors_database_url, pg_tools_path):
    [command] = heroku_yml()["release"]["command"]  # a shell line, as in Heroku's `- rake db:migrate` example
    result = subprocess.run(
        ["/bin/sh", "-c", command],
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


def test_the_image_command_stops_cleanly_on_sigterm():
    with serving(image_cmd(), clean_env()) as server:
        pass  # leaving the block sends SIGTERM, as both platforms do
    assert server.process.returncode == 0
    assert all(line.startswith("{") for line in server.lines), server.output  # JSON to the end, no traceback

