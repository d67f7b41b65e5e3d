"""`heroku container:release` as a Pulumi dynamic provider: release pushed images through the Platform API.

No Heroku provider can release a container image (terraform-provider-heroku#201), so this one calls the two
endpoints the Heroku CLI calls: `PATCH /apps/{app}/formation` with the image ids (Accept
`application/vnd.heroku+json; version=3.docker-releases`), then `GET /apps/{app}/releases` until the new release,
and its release phase, has succeeded or failed. Pulumi pickles the provider into the state, so it uses only the
standard library and module-level functions.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

API_URL = "https://api.heroku.com"
DOCKER_RELEASES = "application/vnd.heroku+json; version=3.docker-releases"
API_V3 = "application/vnd.heroku+json; version=3"
# What a failed status means for this stack, added to Heroku's own message.
HINTS = {
    401: "check the API key (`heroku:apiKey` or HEROKU_API_KEY; `heroku auth:token` prints one)",
    403: "the API key's account may not deploy this app (team membership or permissions)",
    404: "no such app for this API key: check `paasport:app_name` and that the app exists",
    422: "Heroku rejected the release; are the images pushed to registry.heroku.com/<app>/<process>?",
    429: "Heroku's rate limit was hit; run `pulumi up` again in a minute",
}


class HerokuApiError(Exception):
    """A Heroku Platform API failure, quoting Heroku's own `message`."""


def _request(api_url: str, api_key: str, method: str, path: str, *, accept: str = API_V3,
             body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    """One API call; non-2xx statuses raise `HerokuApiError` with Heroku's id and message."""
    if not api_key:
        raise HerokuApiError("No Heroku API key: set `pulumi config set --secret heroku:apiKey ...` "
                             "or export HEROKU_API_KEY before `pulumi up`.")
    request = urllib.request.Request(  # noqa: S310 (api_url is an https default or the caller's choice)
        api_url.rstrip("/") + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Accept": accept, "Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                 "User-Agent": "paasport-pulumi", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            payload = response.read()
    except urllib.error.HTTPError as error:
        raise _api_error(method, path, error.code, error.read()) from None
    except urllib.error.URLError as error:
        raise HerokuApiError(f"Heroku API {method} {path} unreachable: {error.reason}") from None
    return json.loads(payload) if payload else None


def _api_error(method: str, path: str, status: int, payload: bytes) -> HerokuApiError:
    try:
        body = json.loads(payload)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or payload.decode(errors="replace").strip() or "no message"
    ident = f" {body['id']}" if body.get("id") else ""
    hint = f" ({HINTS[status]})" if status in HINTS else ""
    return HerokuApiError(f"Heroku API {method} {path} failed with {status}{ident}: {message}{hint}")


def latest_release(props: dict[str, Any]) -> dict[str, Any] | None:
    """The app's newest release, as `heroku releases` lists it first."""
    releases = _request(props["api_url"], props["api_key"], "GET", f"/apps/{props['app']}/releases",
                        headers={"Range": "version ..; max=1, order=desc"})
    return releases[0] if releases else None


def release(props: dict[str, Any]) -> dict[str, Any]:
    """Point each process type at its image, wait for the resulting release, and return its id and version."""
    before = latest_release(props)
    updates = [{"type": process, "docker_image": image} for process, image in sorted(props["images"].items())]
    _request(props["api_url"], props["api_key"], "PATCH", f"/apps/{props['app']}/formation",
             accept=DOCKER_RELEASES, body={"updates": updates})
    deadline = time.monotonic() + float(props.get("timeout_seconds", 1800))
    while True:
        current = latest_release(props)
        is_new = current and (before is None or current.get("version", 0) > before.get("version", 0))
        if is_new and current.get("status") == "succeeded":
            return {"release_id": current["id"], "release_version": current["version"]}
        if is_new and current.get("status") == "failed":
            stream = current.get("output_stream_url")
            raise HerokuApiError(
                f"Heroku release v{current['version']} of {props['app']} failed: "
                f"{current.get('description') or 'the release phase failed'}"
                + (f"; its output: curl {stream}" if stream else "")
                + f" (or `heroku releases:output {current['version']} --app {props['app']}`)"
            )
        if time.monotonic() > deadline:
            raise HerokuApiError(f"Heroku release of {props['app']} still pending after "
                                 f"{props.get('timeout_seconds', 1800)} s; see `heroku releases --app {props['app']}`")
        time.sleep(float(props.get("poll_seconds", 5)))


class ContainerReleaseProvider(ResourceProvider):
    """Creates (and, for new images, updates) a release; deleting it leaves the app as it is."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = release(props)
        return CreateResult(id_=f"{props['app']}/{outs['release_id']}", outs={**_public(props), **outs})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = [k for k in ("app", "images", "api_url") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(keys), replaces=["app"] if "app" in keys else [],
                          delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**_public(news), **release(news)})


def _public(props: dict[str, Any]) -> dict[str, Any]:
    """Inputs worth keeping as outputs; never the API key."""
    return {k: props[k] for k in ("app", "images", "api_url") if k in props}


# Pulumi stores the provider in the state with dill, which pickles classes and functions of an importable
# module by reference; the dynamic-provider process need not have this repository on its path. Marked as
# `__main__`, they are pickled by value, with the stdlib references they use (pulumi/pulumi#7453).
for _by_value in (HerokuApiError, _request, _api_error, latest_release, release, ContainerReleaseProvider, _public,
                  *[m for m in vars(ContainerReleaseProvider).values() if callable(m)]):
    _by_value.__module__ = "__main__"
