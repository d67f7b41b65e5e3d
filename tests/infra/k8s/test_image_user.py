"""The image's own USER on k8s (issue 27, item 4): a non-root number is kept, a name or root is replaced by UID
10001 with a warning at preview that says how to choose; and a package manager as the container's first process is
warned about.

The pods are run by the container harness (buildah, podman, runc) from the plan's pod specs: an image whose user
1000 owns the directory the app writes to, with its USER written as `1000:1000`, as `1000`, and as the name `app`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from infra import contract
from infra.k8s import process
from offline import plan as offline_plan
from offline import types as t
from tests import containers
from tests.infra.test_contract import make_app
from tests.support import REPO, obj, offline_cli, one

# --- the Dockerfile's USER, read ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dockerfile", "user"), [
    ("FROM python:3.13-slim\nUSER 1000:1000\nCMD [\"python\"]\n", "1000:1000"),
    ("FROM python:3.13-slim\nUSER 1000\nUSER node\n", "node"),  # the last one
    ("FROM python:3.13-slim AS build\nUSER build\nFROM python:3.13-slim\nCMD [\"python\"]\n", ""),  # another stage's
    ("FROM python:3.13-slim AS base\nUSER 1000\nFROM base AS final\nRUN true\n", "1000"),  # inherited from its stage
    ("FROM --platform=linux/amd64 python:3.13-slim AS app\nRUN useradd app \\\n && true\nuser app:app\n", "app:app"),
    ("FROM node:22\n# USER node\nCMD [\"node\"]\n", ""),
    ("FROM node:22\nUSER ${APP_UID}\n", "${APP_UID}"),
])
def test_the_user_is_the_last_stages_as_docker_reads_it(tmp_path, dockerfile, user):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    assert contract.image_user(tmp_path) == user


@pytest.mark.parametrize(("user", "runs"), [
    ("1000:1000", process.RunAs(1000, 1000, kept=True)),
    ("10001", process.RunAs(10001, None, kept=True)),  # the group: the image's for that UID, as Docker picks it
    ("1001:0", process.RunAs(1001, 0, kept=True)),
    ("0", process.RunAs(10001, 10001, kept=False)),
    ("0:0", process.RunAs(10001, 10001, kept=False)),
    ("root", process.RunAs(10001, 10001, kept=False)),
    ("node", process.RunAs(10001, 10001, kept=False)),
    ("1000:node", process.RunAs(10001, 10001, kept=False)),
    ("${APP_UID}", process.RunAs(10001, 10001, kept=False)),
    ("", process.RunAs(10001, 10001, kept=False)),
])
def test_a_non_root_number_is_kept_anything_else_runs_as_10001(tmp_path, user, runs):
    app = make_app(tmp_path, procfile="web: python -m http.server $PORT\n",
                   dockerfile=f"FROM python:3.13-slim\n{f'USER {user}' if user else ''}\n")
    spec, problems = contract.read(app)
    assert problems == []
    assert process.run_as(spec) == runs


# --- the plan ------------------------------------------------------------------------------------------------------

WEB = "web: python3 -m http.server $PORT\n"
APP_JSON = {"cron": [{"command": "python3 -V", "schedule": "@daily"}], "formation": {"worker": {"quantity": 1}}}


def pods(app: Path) -> dict[str, dict]:
    """Every pod spec of the app's processes in the k8s plan: web, worker, release, cron, and `kubectl_run`'s."""
    plan = offline_plan.run("k8s", [f"app_dir={app}"])
    found = {"web": obj(one(plan, t.DEPLOYMENT, "paasport-web"))["spec"]["template"]["spec"],
             "worker": obj(one(plan, t.DEPLOYMENT, "paasport-worker"))["spec"]["template"]["spec"],
             "release": obj(one(plan, t.JOB))["spec"]["template"]["spec"]}
    (cron,) = [r for r in plan.find(t.CRON_JOB) if r.name != "paasport-backup"]
    found["cron"] = obj(cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    run = offline_plan.reveal(plan.outputs["kubectl_run"])
    found["run"] = json.loads(run.split("--overrides=", 1)[1].split("' -- sh", 1)[0])["spec"]
    return found


def security(pod: dict) -> list[dict]:
    """The pod's and each of its containers' user and group fields."""
    keys = ("runAsUser", "runAsGroup", "fsGroup")
    return [{k: v for k, v in pod["securityContext"].items() if k in keys},
            *({k: v for k, v in c["securityContext"].items() if k in keys}
              for c in [*pod.get("initContainers", []), *pod["containers"]])]


@pytest.mark.parametrize(("user", "expected"), [
    ("1000:1000", [{"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}, *[{"runAsUser": 1000,
                                                                              "runAsGroup": 1000}] * 2]),
    ("1000", [{"runAsUser": 1000}, *[{"runAsUser": 1000}] * 2]),
    ("node", [{"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001},
              *[{"runAsUser": 10001, "runAsGroup": 10001}] * 2]),
])
def test_every_pod_of_the_app_and_its_copy_of_the_images_files_run_as_that_user(tmp_path, user, expected):
    app = make_app(tmp_path, procfile=WEB + "release: python3 -V\nworker: python3 -V\n", app_json=APP_JSON,
                   dockerfile=f"FROM python:3.13-slim\nUSER {user}\n")
    found = pods(app)
    assert list(found) == ["web", "worker", "release", "cron", "run"]
    for kind, pod in found.items():
        assert security(pod) == expected, kind  # the pod, the init container, the process's container
        assert pod["securityContext"]["runAsNonRoot"] is True


def preview(app: Path) -> str:
    result = offline_cli("plan", "--stack", "k8s", f"--config=app_dir={app}")
    assert result.returncode == 0, result.stderr
    return " ".join(result.stderr.split())


@pytest.mark.parametrize(("user", "says"), [
    ("node", "{app}/Dockerfile USER node: the k8s pods run as UID 10001 (GID 10001) instead: Kubernetes starts no "
             "container under runAsNonRoot whose user is a name, which it cannot tell from root, and the image is "
             "built at `pulumi up`, after preview, so its /etc/passwd cannot give the number. Files the image gives "
             "node alone are read-only to the app there. Fix: write the user's numbers, `USER <uid>:<gid>` (`id "
             "node` in the image prints them), which the pods then keep."),
    ("root", "{app}/Dockerfile USER root: the k8s pods run as UID 10001 (GID 10001) instead, as the namespace's "
             "restricted Pod Security refuses root; files only root may write are read-only to the app there. Fix: "
             "a non-root USER by number, e.g. `USER 10001:10001` after a chown of what the app writes."),
    ("1000:1000", "{app}/Dockerfile USER 1000:1000: the k8s pods keep it, though UID 1000 is below 10000, where it "
                  "may be a user of the node's own (Checkov CKV_K8S_40; the parity table says so too). For the "
                  "hardened default, give the app's user a UID of 10000 or more."),
])
def test_preview_says_what_becomes_of_the_user_and_how_to_choose(tmp_path, user, says):
    app = make_app(tmp_path, procfile=WEB, dockerfile=f"FROM python:3.13-slim\nUSER {user}\n")
    assert says.format(app=app) in preview(app)


def test_a_high_numeric_user_or_none_needs_no_word(tmp_path):
    for user in ("USER 10001:10001", "USER 65532", ""):
        app = make_app(tmp_path / (user.split()[-1] if user else "none"), procfile=WEB,
                       dockerfile=f"FROM python:3.13-slim\n{user}\n")
        assert "Dockerfile USER" not in preview(app)


def test_checkov_reports_a_kept_user_below_10000_and_nothing_else(tmp_path):
    """Kept as the image says, the low UID is reported, not hidden: Checkov's CKV_K8S_40 alone fails (a USER with
    no group leaves runAsGroup to the image, which no check of Checkov's objects to)."""
    from tests.offline.test_render import CHECKOV

    if not CHECKOV.is_file():
        pytest.skip(f"needs Checkov in {CHECKOV.parent.parent} (`make test` creates it)")
    app = make_app(tmp_path / "app", procfile=WEB, dockerfile="FROM python:3.13-slim\nUSER 1000\n")
    offline_cli("plan", "--stack", "k8s", f"--config=app_dir={app}", "--render", str(tmp_path / "out"), check=True)
    result = subprocess.run([str(CHECKOV), "--config-file", str(REPO / ".checkov.yaml"), "-d", str(tmp_path / "out"),
                             "--output", "json"], capture_output=True, text=True, timeout=600)
    failed = sorted((c["check_id"], c["resource"]) for c in json.loads(result.stdout)["results"]["failed_checks"])
    assert failed == [("CKV_K8S_40", "Deployment.paasport.paasport-web")]


PACKAGE = json.dumps({"name": "x", "scripts": {"start": "node dist/index.js", "serve": "node serve.js"}})


@pytest.mark.parametrize(("procfile", "says"), [
    ("web: npm start\n", "{app}/Procfile web: `npm start` makes npm the first process of the k8s container, which "
     "alone gets the kubelet's SIGTERM: npm passes SIGTERM on to the app, then exits 1 with the error `signal "
     "SIGTERM` when the app dies of it (the container's first process cannot die of the signal itself). Fix: run the "
     "server itself, `web: node dist/index.js`, with a SIGTERM handler that stops accepting and finishes the "
     "requests in flight."),
    ("web: yarn start\n", "{app}/Procfile web: `yarn start` makes yarn the first process of the k8s container, "
     "which alone gets the kubelet's SIGTERM: yarn 1 passes SIGTERM on to the app and exits at once, which ends the "
     "container: the app is killed before it finishes its requests. Fix: run the server itself, `web: node "
     "dist/index.js`, with a SIGTERM handler"),
    ("web: node serve.js\nworker: npm run serve\n", "{app}/Procfile worker: `npm run serve` makes npm the first "
     "process of the k8s container, which alone gets the kubelet's SIGTERM: npm passes SIGTERM on to the app, then "
     "exits 1 with the error `signal SIGTERM` when the app dies of it (the container's first process cannot die of "
     "the signal itself). Fix: run the server itself, `worker: node serve.js`, with"),
])
def test_a_package_manager_as_first_process_is_warned_about_at_preview(tmp_path, procfile, says):
    app = make_app(tmp_path, procfile=procfile, dockerfile="FROM node:22\nUSER 10001:10001\n", package__json=PACKAGE)
    assert says.format(app=app) in preview(app)


@pytest.mark.parametrize(("procfile", "dockerfile"), [
    ("web: node dist/index.js\n", "FROM node:22\n"),
    ("web: npm start\n", 'FROM node:22\nENTRYPOINT ["/usr/bin/tini", "--"]\n'),  # an init is the first process
    ("web: npm install --production\n", "FROM node:22\n"),  # not a script
])
def test_no_word_when_the_server_or_an_init_is_the_first_process(tmp_path, procfile, dockerfile):
    app = make_app(tmp_path, procfile=procfile, dockerfile=dockerfile + "USER 10001:10001\n", package__json=PACKAGE)
    assert "first process" not in preview(app)


# --- the pods, run -------------------------------------------------------------------------------------------------

DOCKERFILE = """\
ARG PYTHON_IMAGE=python:3.12-slim
FROM ${PYTHON_IMAGE}
RUN groupadd --gid 1000 app && useradd --uid 1000 --gid 1000 --no-create-home --shell /usr/sbin/nologin app \\
 && mkdir -p /srv/data && chown 1000:1000 /srv/data && chmod 0755 /srv/data
COPY server.py /srv/server.py
USER 1000:1000
CMD ["python3", "/srv/server.py"]
"""
# Says who it runs as and whether it can write into its own user's directory of the image.
SERVER = """\
import http.server, json, os, pathlib

class Who(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            pathlib.Path("/srv/data/written").write_text("x")
            wrote = "ok"
        except OSError as error:
            wrote = type(error).__name__
        body = json.dumps({"uid": os.getuid(), "gid": os.getgid(), "write": wrote}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("", int(os.environ["PORT"])), Who).serve_forever()
"""
# The root filesystem writable, as under Docker: the app meets the image's files with the image's owners.
RELAXED = {"paasport": {"read_only_root": False}}


@pytest.fixture(scope="module")
def owned(tmp_path_factory) -> tuple[Path, containers.Image]:
    """The app with `USER 1000:1000` over a directory its user owns, and its image."""
    app = make_app(tmp_path_factory.mktemp("apps") / "owned", procfile="web: python3 /srv/server.py\n",
                   dockerfile=DOCKERFILE, server__py=SERVER, app_json=RELAXED)
    containers.require_tools()
    return app, containers.build_image(app, "localhost/paasport-image-user:test")


def variant(root: Path, base: containers.Image, user: str) -> tuple[Path, containers.Image]:
    """The same image with another USER line, and its app directory (whose Dockerfile says so)."""
    tag = "localhost/paasport-image-user-" + user.replace(":", "-") + ":test"
    app = make_app(root / user.replace(":", "-"), procfile="web: python3 /srv/server.py\n",
                   dockerfile=f"FROM {base.ref}\nUSER {user}\n", app_json=RELAXED)
    return app, containers.build_image(app, tag)


def who(app: Path, image: containers.Image) -> dict:
    pod = obj(one(offline_plan.run("k8s", [f"app_dir={app}"]), t.DEPLOYMENT))["spec"]["template"]["spec"]
    with containers.run_pod_container(image, pod, "web") as web:
        web.wait_ready()
        return httpx.get(web.url("http", "/"), timeout=5).json()


def test_a_numeric_user_is_kept_and_writes_to_its_own_files(owned):
    assert who(*owned) == {"uid": 1000, "gid": 1000, "write": "ok"}


def test_a_numeric_user_without_group_gets_its_group_from_the_image_as_under_docker(owned, tmp_path):
    # runAsGroup is left out: the runtime takes user 1000's group from the image's /etc/passwd (1000 here).
    assert who(*variant(tmp_path, owned[1], "1000")) == {"uid": 1000, "gid": 1000, "write": "ok"}


def test_a_named_user_runs_as_10001_and_cannot_write_its_files_as_preview_says(owned, tmp_path):
    app, image = variant(tmp_path, owned[1], "app")
    assert who(app, image) == {"uid": 10001, "gid": 10001, "write": "PermissionError"}
    assert "Files the image gives app alone are read-only to the app there." in preview(app)
    # The fix preview gives: the user's numbers, which `id` prints in the image.
    printed = containers.podman("run", "--rm", "--runtime", "runc", image.ref, "id", "app").stdout
    assert printed.startswith("uid=1000(app) gid=1000(app)")
