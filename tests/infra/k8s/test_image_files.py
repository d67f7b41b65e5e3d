"""A dyno's filesystem is the image's, writable (devcenter.heroku.com/articles/dynos, "Ephemeral filesystem"); a
hardened pod mounts empty volumes over /tmp and the app's writable paths, which hide the image's files there
(issue 25, item 1). The k8s stack copies them in first, with an init container of the same image.

An app whose Dockerfile writes files under /tmp and under a writable path, and whose health check reads them, is
built with buildah and its plan's pods run by the container harness, whose emptyDirs are empty host directories, as
the kubelet's. The same pod without the init container never becomes ready: the check can fail.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from infra.k8s.app_env import IMAGE_FILES, STAGING
from offline import plan as offline_plan
from offline import types as t
from tests import containers
from tests.infra.test_contract import make_app
from tests.support import obj, offline_cli, one

DOCKERFILE = """\
ARG PYTHON_IMAGE=python:3.12-slim
FROM ${PYTHON_IMAGE}
RUN mkdir -p /app/cache /tmp/nested && echo baked > /tmp/baked.txt && echo nested > /tmp/nested/n.txt \\
 && ln -s baked.txt /tmp/link.txt && echo cached > /app/cache/c.txt \\
 && mkdir -m 0700 /tmp/private && echo private > /tmp/private/p.txt
COPY server.py /app/server.py
USER 10001:10001
CMD ["python3", "/app/server.py"]
"""
SERVER = """\
import http.server, os, pathlib, sys

def check():
    assert pathlib.Path("/tmp/baked.txt").read_text() == "baked\\n", "no /tmp/baked.txt"
    assert pathlib.Path("/tmp/nested/n.txt").read_text() == "nested\\n", "no /tmp/nested/n.txt"
    assert os.readlink("/tmp/link.txt") == "baked.txt", "/tmp/link.txt is not the image's link"
    assert pathlib.Path("/app/cache/c.txt").read_text() == "cached\\n", "no /app/cache/c.txt"
    pathlib.Path("/tmp/written").write_text("x")  # and both are writable
    pathlib.Path("/app/cache/written").write_text("y")

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            check()
            code, body = 200, b"ok"
        except Exception as error:
            code, body = 500, repr(error).encode()
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body)

if sys.argv[1:] == ["check"]:
    check()
    print("image files: ok")
else:
    http.server.HTTPServer(("", int(os.environ["PORT"])), Health).serve_forever()
"""
CHECK = {"path": "/healthz", "timeout": 2, "attempts": 3, "wait": 1}
APP_JSON = {
    "healthchecks": {"web": [{"type": "readiness", **CHECK}, {"type": "liveness", **CHECK}]},
    "cron": [{"command": "python3 /app/server.py check", "schedule": "@daily"}],
    "paasport": {"writable_paths": ["/app/cache"]},
}


def baked_app(root: Path, **paasport: object) -> Path:
    return make_app(root, procfile="web: python3 /app/server.py\n", dockerfile=DOCKERFILE, server__py=SERVER,
                    app_json={**APP_JSON, "paasport": {**APP_JSON["paasport"], **paasport}})


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Path:
    return baked_app(tmp_path_factory.mktemp("apps") / "baked")


def k8s(app: Path) -> offline_plan.Plan:
    return offline_plan.run("k8s", [f"app_dir={app}"])


def template(plan: offline_plan.Plan, type_: str, name: str | None = None) -> dict:
    spec = obj(one(plan, type_, name))["spec"]
    return (spec["jobTemplate"]["spec"] if type_ == t.CRON_JOB else spec)["template"]


# --- the plan ------------------------------------------------------------------------------------------------------

def test_every_app_pod_first_copies_the_images_files_into_its_writable_volumes(app):
    plan = k8s(app)
    web = template(plan, t.DEPLOYMENT)["spec"]
    (init,) = web["initContainers"]
    (container,) = web["containers"]
    assert init["name"] == IMAGE_FILES and init["image"] == container["image"]
    assert init["command"][:2] == ["/bin/sh", "-c"] and "args" not in init  # not the image's entrypoint
    assert init["securityContext"] == container["securityContext"]  # as hardened: read-only root, no caps
    assert init["env"] == []  # it reads no variable and no Secret
    assert init["volumeMounts"] == [{"name": "tmp", "mountPath": f"{STAGING}/tmp"},
                                    {"name": "wapp-cache", "mountPath": f"{STAGING}/wapp-cache"}]
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}, {"name": "shm", "mountPath": "/dev/shm"},
                                         {"name": "wapp-cache", "mountPath": "/app/cache"}]
    assert [v["name"] for v in web["volumes"]] == ["tmp", "shm", "wapp-cache"]
    # The scheduled task's pod starts alike (and the one-off pod: test_the_one_off_command_...).
    cron = [r for r in plan.find(t.CRON_JOB) if r.name != "paasport-backup"]
    assert [obj(r)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"] for r in cron] == [[init]]


def test_a_writable_root_filesystem_mounts_nothing_over_the_images_files(tmp_path):
    plan = k8s(baked_app(tmp_path / "relaxed", read_only_root=False))
    web = template(plan, t.DEPLOYMENT)["spec"]
    assert "initContainers" not in web
    assert web["containers"][0]["volumeMounts"] == [{"name": "shm", "mountPath": "/dev/shm"}]
    assert web["volumes"] == [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}]


@pytest.mark.parametrize("base", ["scratch", "gcr.io/distroless/static-debian12:nonroot"])
def test_an_image_without_a_shell_gets_no_copy_and_a_warning_at_preview(tmp_path, base):
    app = make_app(tmp_path / "static", procfile="web: /server\n",
                   dockerfile=f"FROM golang:1.24 AS build\nRUN true\nFROM {base}\nCOPY --from=build /x /server\n")
    plan = k8s(app)
    assert "initContainers" not in template(plan, t.DEPLOYMENT)["spec"]
    result = offline_cli("plan", "--stack", "k8s", f"--config=app_dir={app}")
    assert result.returncode == 0, result.stderr
    assert (f"{app}/Dockerfile: its base ({base}) has no shell or cp, so the files the image holds under /tmp are "
            "not copied into the pod's writable volumes there: the app finds them empty. Put such files elsewhere "
            "in the image, or set app.json paasport.read_only_root to false.") in " ".join(result.stderr.split())


# --- the pods, run -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image(app) -> containers.Image:
    containers.require_tools()
    return containers.build_image(app, "localhost/paasport-image-files:test")


def test_the_web_pod_finds_the_images_files_and_becomes_ready(app, image):
    pod = template(k8s(app), t.DEPLOYMENT)["spec"]
    with containers.run_pod_container(image, pod, "web") as web:
        web.wait_ready()  # its readiness check reads and writes them
    # What the app's user cannot read is left out, and said so, without stopping the pod.
    assert web.init_logs[IMAGE_FILES].splitlines() == [
        "cp: cannot access 'private': Permission denied",  # Debian's cp, in the test's base image
        "paasport: /tmp/private is not in the pod: the user the app runs as cannot read it"]


def test_without_the_copy_the_empty_volume_hides_them_and_the_pod_never_becomes_ready(app, image):
    pod = {k: v for k, v in template(k8s(app), t.DEPLOYMENT)["spec"].items() if k != "initContainers"}
    with containers.run_pod_container(image, pod, "web") as web, pytest.raises(
            AssertionError, match=r"readinessProbe failed 3 times"):
        web.wait_ready()


def test_a_scheduled_task_runs_in_the_same_pod_and_finds_them(app, image):
    (cron,) = [r for r in k8s(app).find(t.CRON_JOB) if r.name != "paasport-backup"]
    pod = obj(cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    with containers.run_pod_container(image, pod, "cron", detach=False) as task:
        assert task.wait(timeout=60) == 0, task.logs()
        assert "image files: ok" in task.logs()


def strategic_merge(generated: dict, overrides: dict) -> dict:
    """kubectl run's `--override-type=strategic` on a Pod spec: lists of containers, init containers and volumes
    merge by `name` (k8s.io/api core/v1 PodSpec `patchMergeKey:"name"`), other fields are replaced."""
    merged = dict(generated)
    for key, value in overrides.items():
        if key in ("containers", "initContainers", "volumes") and key in merged:
            by_name = {item["name"]: dict(item) for item in merged[key]}
            for item in value:
                by_name[item["name"]] = {**by_name.get(item["name"], {}), **item}
            merged[key] = list(by_name.values())
        else:
            merged[key] = value
    return merged


def test_the_one_off_command_runs_a_pod_made_like_the_web_pod(app, image):
    plan = k8s(app)
    words = shlex.split(offline_plan.reveal(plan.outputs["kubectl_run"]))
    assert words[:7] == ["kubectl", "--namespace", "paasport", "run", "paasport-run", "--rm", "-it"]
    assert words[-2:] == ["--", "sh"]
    assert {"--restart=Never", "--override-type=strategic"} <= set(words)
    overrides = json.loads(next(w for w in words if w.startswith("--overrides=")).removeprefix("--overrides="))
    web = template(plan, t.DEPLOYMENT)
    # what kubectl generates from the command line: a pod of one container named after it, the command as args
    image_ref = next(w for w in words if w.startswith("--image=")).removeprefix("--image=")
    generated = {"containers": [{"name": "paasport-run", "image": image_ref, "args": ["python3", "/app/server.py",
                                                                                      "check"],
                                 "stdin": True, "tty": True}], "restartPolicy": "Never"}
    pod = strategic_merge(generated, overrides["spec"])
    (run,) = pod["containers"]
    (serving,) = web["spec"]["containers"]
    assert run["image"] == serving["image"] and run["securityContext"] == serving["securityContext"]
    assert [e for e in run["env"] if e["name"] != "DYNO"] == [e for e in serving["env"] if e["name"] != "DYNO"]
    assert {"name": "DYNO", "value": "run.$(PAASPORT_POD_NAME)"} in run["env"]  # Heroku's run.N
    assert pod["initContainers"] == web["spec"]["initContainers"] and pod["volumes"] == web["spec"]["volumes"]
    with containers.run_pod_container(image, pod, "paasport-run", detach=False) as one_off:
        assert one_off.wait(timeout=60) == 0, one_off.logs()
        assert "image files: ok" in one_off.logs()


def test_an_image_without_cp_stops_the_pod_with_one_line_that_says_so(app, image, tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM {image.ref}\nUSER 0\nRUN rm -f /bin/cp /usr/bin/cp\nUSER 10001:10001\n")
    bare = containers.build_image(tmp_path, "localhost/paasport-image-files-nocp:test")
    pod = template(k8s(app), t.DEPLOYMENT)["spec"]
    with pytest.raises(containers.InitContainerFailed) as failed:
        containers.run_pod_container(bare, pod, "web")
    assert ("paasport: the image has no cp to copy its files under /tmp, /app/cache into the writable volumes of "
            "the pod. Fix: add cp (coreutils or busybox) to the image, or set app.json paasport.read_only_root to "
            "false.") in str(failed.value)
