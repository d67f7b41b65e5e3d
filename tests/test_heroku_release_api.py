"""The container-release dynamic provider against a local fake of the two Heroku endpoints it calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from infra.heroku_api import DOCKER_RELEASES, ContainerReleaseProvider, HerokuApiError

APP = "acme-paasport"
KEY = "hrku-test-key"
WEB = "sha256:" + "a" * 64
RELEASE = "sha256:" + "b" * 64


@dataclass
class FakeHeroku:
    """Heroku's formation and releases endpoints: records requests, answers from a script."""

    releases: list[dict[str, Any]] = field(default_factory=lambda: [{"id": "r-1", "version": 1,
                                                                      "status": "succeeded"}])
    after_patch: list[dict[str, Any]] = field(default_factory=lambda: [{"status": "succeeded"}])
    failure: tuple[int, dict[str, Any]] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.requests.append({"method": method, "path": path, "headers": headers,
                              "body": json.loads(body) if body else None})
        if self.failure:
            return self.failure
        if method == "PATCH" and path == f"/apps/{APP}/formation":
            version = self.releases[-1]["version"] + 1
            self.releases.append({"id": f"r-{version}", "version": version, **self.after_patch.pop(0)})
            return 200, [{"type": u["type"]} for u in json.loads(body)["updates"]]
        if method == "GET" and path == f"/apps/{APP}/releases":
            latest = self.releases[-1]
            seen = dict(latest)
            if latest["status"] == "pending" and self.after_patch:
                latest.update(self.after_patch.pop(0))  # the next poll sees the release phase finish
            return 206, [seen]
        return 404, {"id": "not_found", "message": "Couldn't find that app."}


@pytest.fixture
def fake() -> Iterator[FakeHeroku]:
    state = FakeHeroku()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = state.handle(self.command, self.path, dict(self.headers), body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = _serve

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def props(fake: FakeHeroku, **changes: Any) -> dict[str, Any]:
    return {"app": APP, "images": {"web": WEB, "release": RELEASE}, "api_key": KEY, "api_url": fake.url,
            "timeout_seconds": 10, "poll_seconds": 0, **changes}


def test_create_patches_the_formation_with_both_images_and_waits_for_the_release(fake):
    result = ContainerReleaseProvider().create(props(fake))
    assert result.id == f"{APP}/r-2"
    assert result.outs["release_id"] == "r-2" and result.outs["release_version"] == 2
    assert "api_key" not in result.outs
    patch = next(r for r in fake.requests if r["method"] == "PATCH")
    assert patch["path"] == f"/apps/{APP}/formation"
    assert patch["headers"]["Accept"] == DOCKER_RELEASES
    assert patch["headers"]["Authorization"] == f"Bearer {KEY}"
    assert patch["headers"]["Content-Type"] == "application/json"
    assert patch["body"] == {"updates": [{"type": "release", "docker_image": RELEASE},
                                         {"type": "web", "docker_image": WEB}]}
    gets = [r for r in fake.requests if r["method"] == "GET"]
    assert gets and all(r["path"] == f"/apps/{APP}/releases" for r in gets)
    assert all(r["headers"]["Range"] == "version ..; max=1, order=desc" for r in gets)
    assert all(r["headers"]["Accept"] == "application/vnd.heroku+json; version=3" for r in gets)


def test_a_pending_release_phase_is_polled_until_it_succeeds(fake):
    fake.after_patch = [{"status": "pending"}, {"status": "succeeded"}]
    assert ContainerReleaseProvider().create(props(fake)).outs["release_version"] == 2
    assert sum(r["method"] == "GET" for r in fake.requests) == 3  # before, pending, succeeded


def test_a_failed_release_phase_fails_with_heroku_s_description_and_output(fake):
    fake.after_patch = [{"status": "failed", "description": "Release command failed",
                         "output_stream_url": "https://release-output.heroku.com/streams/r-2"}]
    with pytest.raises(HerokuApiError) as caught:
        ContainerReleaseProvider().create(props(fake))
    message = str(caught.value)
    assert "release v2 of acme-paasport failed: Release command failed" in message
    assert "https://release-output.heroku.com/streams/r-2" in message


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (401, {"id": "unauthorized", "message": "Invalid credentials provided."}, "check the API key"),
        (404, {"id": "not_found", "message": "Couldn't find that app."}, "paasport:app_name"),
        (422, {"id": "invalid_params", "message": "Unknown Docker image."}, "registry.heroku.com"),
        (403, {"id": "forbidden", "message": "You do not have access to the app acme-paasport."}, "permissions"),
    ],
)
def test_each_error_status_surfaces_heroku_s_message(fake, status, body, says):
    fake.failure = (status, body)
    with pytest.raises(HerokuApiError) as caught:
        ContainerReleaseProvider().create(props(fake))
    message = str(caught.value)
    assert f"failed with {status} {body['id']}: {body['message']}" in message
    assert says in message
    assert KEY not in message


def test_a_missing_key_fails_before_calling_heroku(fake):
    with pytest.raises(HerokuApiError, match="No Heroku API key"):
        ContainerReleaseProvider().create(props(fake, api_key=""))
    assert not fake.requests


def test_update_releases_the_new_images_and_diff_sees_only_what_matters(fake):
    provider = ContainerReleaseProvider()
    old = props(fake)
    new_web = "sha256:" + "c" * 64
    new = props(fake, images={"web": new_web, "release": RELEASE})
    assert not provider.diff("id", old, props(fake, api_key="rotated")).changes
    changed = provider.diff("id", old, new)
    assert changed.changes and not changed.replaces
    assert provider.diff("id", old, props(fake, app="other-app")).replaces == ["app"]
    outs = provider.update("id", old, new).outs
    assert outs["images"]["web"] == new_web and outs["release_version"] == 2
    patch = next(r for r in fake.requests if r["method"] == "PATCH")
    assert {"type": "web", "docker_image": new_web} in patch["body"]["updates"]


UNPICKLE_AND_RELEASE = """
import base64, json, sys, dill
provider = dill.loads(base64.b64decode(sys.stdin.read()))
print(json.dumps(provider.create(json.loads(sys.argv[1])).outs))
"""


def test_the_provider_works_where_this_repository_is_not_importable(fake, tmp_path):
    """Pulumi's dynamic-provider process unpickles the provider from the state, maybe far from infra/."""
    result = subprocess.run(
        [sys.executable, "-c", UNPICKLE_AND_RELEASE, json.dumps(props(fake))],
        input=serialize_provider(ContainerReleaseProvider()),
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["release_id"] == "r-2"
