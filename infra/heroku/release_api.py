"""The Heroku Platform API calls that no Heroku provider makes, as Pulumi dynamic providers (stdlib only).

- `ContainerReleaseProvider`: `heroku container:release`. No Heroku provider can release a container image
  (terraform-provider-heroku#201), so this one does what heroku/cli `src/commands/container/release.ts` does: read
  each process's manifest from registry.heroku.com (Basic auth, an empty user and the API key as password; Accept
  `application/vnd.docker.distribution.manifest.v2+json`) and send its `config.digest` as the `docker_image` of
  `PATCH /apps/{app}/formation` (Accept `application/vnd.heroku+json; version=3.docker-releases`), then poll
  `GET /apps/{app}/releases` (Range `version ..; max=1, order=desc`) until the new release, and its release phase,
  has succeeded or failed. The config digest is the image id only on Docker's classic image store, not on the
  containerd one, so the manifest is read pinned by the digest the push reported (pulumi-docker-build Image's
  `digest`, the manifest or index the registry holds), and its bytes are checked against that digest.
- `BuildReleaseProvider`: waits for the release of a Heroku Build. terraform-provider-heroku's `heroku_build` waits
  for the build only (`heroku/resource_heroku_build.go`, `BuildStateRefreshFunc`: pending -> succeeded), not for the
  release it creates, whose release phase (heroku.yml `release:`) runs after. This polls
  `GET /apps/{app}/releases/{release_id}` (the Platform API's release Info link, as release.ts does once the release
  command's output has ended) until it succeeds, or fails with Heroku's description and `output_stream_url`; a
  release that an earlier `pulumi up` left failed is retried (`build_release`).
- `AcmProvider`: `POST /apps/{app}/acm` (the schema's app link "Enable ACM"), once a dyno that can have ACM runs;
  delete sends `DELETE /apps/{app}/acm` ("Disable ACM"). terraform-provider-heroku enables ACM while it creates the
  app, before any dyno exists, and logs that this "will most likely fail" for apps outside a team
  (`heroku/resource_heroku_app.go`, `resourceHerokuAppCreate` -> `updateAcm`).

Both kinds of release share one polling loop, `await_release`.

How the engine runs this code (pulumi/pulumi `sdk/python/lib/pulumi/dynamic/__main__.py`): each resource stores
its provider pickled (`__provider`), and the dynamic-provider plugin, started with the program directory (infra/)
as working directory, unpickles it for every call; `Delete` and `Read` get only the saved outputs, `__provider`
included. A provider pickled by value would freeze this code, as bytecode, into the state: a later fix to delete
would never reach resources made before it, and only the Python minor version that pickled it could run it. So
each provider pickles by reference to this file (`_ByPath`): unpickling runs `runpy.run_path(PROGRAM_PATH)` from
the plugin's working directory, which is today's code on any Python, and this module imports only the standard
library and `pulumi.dynamic`. This file's path is therefore part of the state: move it only with a shim left here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import netrc
import operator
import os
import runpy
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, ClassVar

from pulumi.dynamic import ConfigureRequest, CreateResult, DiffResult, ResourceProvider, UpdateResult

# This file as the dynamic-provider plugin finds it from its working directory, the program directory.
PROGRAM_PATH = "heroku/release_api.py"
# The stack config key of the Heroku API key (the Heroku provider's `apiKey`).
API_KEY_CONFIG = "heroku:apiKey"
API_URL = "https://api.heroku.com"
REGISTRY_URL = "https://registry.heroku.com"
DOCKER_RELEASES = "application/vnd.heroku+json; version=3.docker-releases"
API_V3 = "application/vnd.heroku+json; version=3"
# The manifest type `heroku container:release` asks for (heroku/cli src/commands/container/release.ts), then the
# OCI manifest and the two index types a containerd-store push may have stored under the pushed digest.
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((MANIFEST_V2, "application/vnd.oci.image.manifest.v1+json",
                             "application/vnd.docker.distribution.manifest.list.v2+json",
                             "application/vnd.oci.image.index.v1+json"))
# What a failed status means for this stack, added to Heroku's own message.
HINTS = {
    401: "check the API key (`heroku:apiKey` or HEROKU_API_KEY; `heroku auth:token` prints one)",
    403: "the API key's account may not deploy this app (team membership or permissions)",
    404: "no such app for this API key: check `paasport:app_name` and that the app exists",
    422: "Heroku refused the change; for a release: are the images pushed to registry.heroku.com/<app>/<process>?",
    429: "Heroku's rate limit was hit; run `pulumi up` again in a minute",
}


class HerokuApiError(Exception):
    """A Heroku Platform API (or registry) failure, quoting Heroku's own `message`; `status` is the HTTP status."""

    one_line = True  # the plugin reports it as its message alone (`_one_line_errors`)

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _api_key(props: dict[str, Any], url: str) -> str:
    """The key given as input, else the stack's `heroku:apiKey` (`configured_api_key`, from the config the engine
    hands every dynamic provider: pulumi/pulumi `pkg/resource/deploy/target.go`, GetPackageConfig), else
    HEROKU_API_KEY, else the `heroku login` one: the password of the URL's host in ~/.netrc; terraform-provider-heroku
    reads the last three in that order (`heroku/config.go`, `applyNetrcFile`). A delete gets only the saved
    outputs, which never hold the key, so there the stack config is what has it."""
    for key in (props.get("api_key"), props.get("configured_api_key"), os.environ.get("HEROKU_API_KEY")):
        if key:
            return key
    try:
        entry = netrc.netrc().authenticators(urllib.parse.urlsplit(url).hostname or "")
    except (OSError, netrc.NetrcParseError):
        entry = None
    if entry and entry[2]:
        return entry[2]
    raise HerokuApiError("No Heroku API key: set `pulumi config set --secret heroku:apiKey ...` "
                         "or export HEROKU_API_KEY before `pulumi up` (or run `heroku login`).")


def api_request(props: dict[str, Any], method: str, path: str, *, accept: str = API_V3,
                body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    """One Platform API call; non-2xx statuses raise `HerokuApiError` with Heroku's id and message."""
    api_url = props.get("api_url") or API_URL
    api_key = _api_key(props, api_url)
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


def _api_error(method: str, path: str, status: int, payload: bytes, hints: dict[int, str] | None = None,
               service: str = "Heroku API") -> HerokuApiError:
    """Heroku's `{"id", "message"}` error (or the registry's `{"errors": [{"code", "message"}]}`) as a message."""
    try:
        body = json.loads(payload)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if isinstance(body.get("errors"), list) and body["errors"] and isinstance(body["errors"][0], dict):
        body = {"id": body["errors"][0].get("code"), "message": body["errors"][0].get("message")}
    message = body.get("message") or payload.decode(errors="replace").strip() or "no message"
    ident = f" {body['id']}" if body.get("id") else ""
    hints = HINTS if hints is None else hints
    hint = f" ({hints[status]})" if status in hints else ""
    return HerokuApiError(f"{service} {method} {path} failed with {status}{ident}: {message}{hint}", status)


def await_release(props: dict[str, Any], fetch: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """Poll `fetch` (the release, or None while it does not exist yet) until the release phase has succeeded,
    and return the release's id and version; fail with Heroku's description and its output if it failed."""
    timeout = float(props.get("timeout_seconds") or 1800)
    deadline = time.monotonic() + timeout
    while True:
        current = fetch()
        if current and current.get("status") == "succeeded":
            return {"release_id": current["id"], "release_version": current["version"]}
        if current and current.get("status") == "failed":
            stream = current.get("output_stream_url")
            raise HerokuApiError(
                f"Heroku release v{current['version']} of {props['app']} failed: "
                f"{current.get('description') or 'the release phase failed'}"
                + (f"; its output: curl {stream}" if stream else "")
                + f" (or `heroku releases:output {current['version']} --app {props['app']}`)"
            )
        if time.monotonic() > deadline:
            raise HerokuApiError(f"Heroku release of {props['app']} still pending after {timeout:g} s; "
                                 f"see `heroku releases --app {props['app']}`")
        time.sleep(float(props.get("poll_seconds", 5)))


def latest_release(props: dict[str, Any]) -> dict[str, Any] | None:
    """The app's newest release, as `heroku releases` lists it first."""
    releases = api_request(props, "GET", f"/apps/{props['app']}/releases",
                        headers={"Range": "version ..; max=1, order=desc"})
    return releases[0] if releases else None


def _registry_manifest(props: dict[str, Any], process: str, reference: str) -> dict[str, Any]:
    """GET /v2/<app>/<process>/manifests/<digest> from registry.heroku.com, the bytes checked against the digest."""
    registry_url = props.get("registry_url") or REGISTRY_URL
    path = f"/v2/{props['app']}/{process}/manifests/{reference}"
    # heroku/cli release.ts: `Basic ${base64(":" + token)}`, straight to the registry, no token exchange.
    basic = base64.b64encode(f":{_api_key(props, props.get('api_url') or API_URL)}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (registry_url is an https default or the caller's choice)
        registry_url.rstrip("/") + path,
        headers={"Accept": MANIFEST_ACCEPT, "Authorization": f"Basic {basic}", "User-Agent": "paasport-pulumi"},
    )
    hints = {401: "registry.heroku.com refused the API key", 404: f"was {props['app']}/{process} pushed?"}
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            payload = response.read()
    except urllib.error.HTTPError as error:
        raise _api_error("GET", registry_url + path, error.code, error.read(), hints, "Heroku registry") from None
    except urllib.error.URLError as error:
        raise HerokuApiError(f"Heroku registry GET {registry_url}{path} unreachable: {error.reason}") from None
    actual = "sha256:" + hashlib.sha256(payload).hexdigest()
    if actual != reference:
        raise HerokuApiError(f"registry manifest {props['app']}/{process}@{reference} arrived as {actual}")
    return json.loads(payload)


def config_digest(props: dict[str, Any], process: str, manifest_digest: str) -> str:
    """The `docker_image` Heroku releases: the pushed manifest's `config.digest` (an index: its platform's)."""
    manifest = _registry_manifest(props, process, manifest_digest)
    if "manifests" in manifest:
        os_, arch = (props.get("platform") or "linux/amd64").split("/")[:2]
        match = [m for m in manifest["manifests"] if (m.get("platform") or {}).get("os") == os_
                 and (m.get("platform") or {}).get("architecture") == arch]
        if not match:
            raise HerokuApiError(f"{props['app']}/{process}@{manifest_digest} has no {os_}/{arch} image")
        manifest = _registry_manifest(props, process, match[0]["digest"])
    digest = (manifest.get("config") or {}).get("digest")
    if not digest:
        raise HerokuApiError(f"registry manifest {props['app']}/{process}@{manifest_digest} names no config digest")
    return digest


def release(props: dict[str, Any]) -> dict[str, Any]:
    """Point each process type at the config digest of its pushed manifest, wait for the resulting release, and
    return the released image ids and the release's id and version."""
    images = {process: config_digest(props, process, digest) for process, digest in sorted(props["manifests"].items())}
    before = latest_release(props)
    updates = [{"type": process, "docker_image": image} for process, image in images.items()]
    api_request(props, "PATCH", f"/apps/{props['app']}/formation", accept=DOCKER_RELEASES, body={"updates": updates})

    def newest() -> dict[str, Any] | None:
        current = latest_release(props)
        is_new = current and (before is None or current.get("version", 0) > before.get("version", 0))
        return current if is_new else None

    return {"images": images, **await_release(props, newest)}


def build_release(props: dict[str, Any]) -> dict[str, Any]:
    """Wait for the release a Heroku Build created (`release_id`) and its release phase; return its version.

    A release that has already failed when the waiter first looks failed in an earlier `pulumi up` (the cause is
    since fixed, say the seed's URL or the database): `heroku_build` has no update (terraform-provider-heroku
    `heroku/resource_heroku_build.go`: Create, Read and Delete only), so no new build would come for the same
    source. The waiter then does what `heroku releases:retry` does (heroku/cli
    `packages/cli/src/commands/releases/retry.ts`): `POST /apps/{app}/releases` with that release's slug, which
    runs the release phase again, and waits for that release instead."""
    if not props.get("release_id"):
        raise HerokuApiError(f"The Heroku build of {props['app']} reported no release to wait for.")
    app = props["app"]
    first = api_request(props, "GET", f"/apps/{app}/releases/{props['release_id']}") or {}
    wanted = first.get("id") or props["release_id"]
    if first.get("status") == "failed":
        slug = (first.get("slug") or {}).get("id")
        if not slug:
            raise HerokuApiError(f"Heroku release v{first.get('version')} of {app} failed and has no slug to retry: "
                                 f"run `heroku releases:retry --app {app}`, or change app/ for a new build")
        retry = api_request(props, "POST", f"/apps/{app}/releases", body={
            "slug": slug, "description": f"Retry of v{first.get('version')}: {first.get('description') or ''}"[:200]})
        wanted = retry["id"]
    outs = await_release(props, lambda: api_request(props, "GET", f"/apps/{app}/releases/{wanted}"))
    return {"release_version": outs["release_version"]}


def enable_acm(props: dict[str, Any]) -> dict[str, Any]:
    """POST /apps/{app}/acm, unless the app (GET /apps/{app}) has ACM already, e.g. from a stack that created it
    with `acm: true`; Heroku answers with the app, whose `acm` must now be true."""
    if (api_request(props, "GET", f"/apps/{props['app']}") or {}).get("acm"):
        return {"acm": True}
    app = api_request(props, "POST", f"/apps/{props['app']}/acm")
    if not (app or {}).get("acm"):
        raise HerokuApiError(f"Heroku did not enable ACM on {props['app']} (its answer has acm={app.get('acm')})")
    return {"acm": True}


def disable_acm(props: dict[str, Any]) -> None:
    """DELETE /apps/{app}/acm; an app that is already gone needs nothing."""
    try:
        api_request(props, "DELETE", f"/apps/{props['app']}/acm")
    except HerokuApiError as error:
        if error.status != 404:
            raise


def _public(props: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Inputs worth keeping as outputs; never the API key."""
    return {k: props[k] for k in keys if k in props}


def _diff(olds: dict[str, Any], news: dict[str, Any], keys: tuple[str, ...]) -> DiffResult:
    """Changes of `keys`, and of the stored provider (`__provider`): a resource saved with an older one gets an
    update that stores today's, so that its delete and refresh run today's code (see `_unchanged`)."""
    changed = [k for k in (*keys, PROVIDER_KEY) if olds.get(k) != news.get(k)]
    return DiffResult(changes=bool(changed), replaces=["app"] if "app" in changed else [],
                      delete_before_replace=False)


def _unchanged(olds: dict[str, Any], news: dict[str, Any], keys: tuple[str, ...],
               outputs: tuple[str, ...]) -> UpdateResult | None:
    """The outputs as they are when only the stored provider changed: no second release, no API call."""
    if any(olds.get(k) != news.get(k) for k in keys):
        return None
    return UpdateResult(outs={**_public(news, keys), **_public(olds, outputs)})


PROVIDER_KEY = "__provider"  # pulumi.dynamic's key of the pickled provider
CONTAINER_KEYS = ("app", "manifests", "api_url", "registry_url", "platform")
BUILD_KEYS = ("app", "release_id", "api_url")
ACM_KEYS = ("app", "api_url")


class _HerokuProvider(ResourceProvider):
    """What the three providers share: `keys` (inputs kept as outputs, whose change means an update), `outputs`
    (what `run` adds), the stack's Heroku API key from `configure`, pickling by path, and each failure as one line
    that names the step (`step`, `verbs`), Heroku's message and what to do."""

    step = ""
    verbs: ClassVar[dict[str, str]] = {}
    keys: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    configured_api_key: str | None = None

    def run(self, props: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def resource_id(self, props: dict[str, Any], outs: dict[str, Any]) -> str:
        raise NotImplementedError

    def configure(self, req: ConfigureRequest) -> None:
        self.configured_api_key = req.config.get(API_KEY_CONFIG) or None

    def _call(self, action: str, step: Callable[[dict[str, Any]], Any], props: dict[str, Any]) -> Any:
        try:
            return step({**props, "configured_api_key": self.configured_api_key})
        except HerokuApiError as error:
            raise HerokuApiError(f"paasport {self.step} ({self.verbs.get(action, action)}): {error}",
                                 error.status) from None

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._call("create", self.run, props)
        return CreateResult(id_=self.resource_id(props, outs), outs={**_public(props, self.keys), **outs})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return _diff(olds, news, self.keys)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        same = _unchanged(olds, news, self.keys, self.outputs)
        return same or UpdateResult(outs={**_public(news, self.keys), **self._call("update", self.run, news)})

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _ByPath(type(self).__name__), ()


class _ByPath:
    """Pickles as `runpy.run_path(PROGRAM_PATH)[name]`, a class of this file as the plugin finds it: only the
    standard library's `runpy` and `operator` are named in the pickle, which any Python 3 can load."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self) -> ResourceProvider:  # what the unpickled class does; pickle wants a callable here
        return globals()[self.name]()

    def __reduce__(self) -> tuple[Any, tuple[Any, str]]:
        return operator.getitem, (_ModuleByPath(), self.name)


class _ModuleByPath:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return runpy.run_path, (PROGRAM_PATH,)


class ContainerReleaseProvider(_HerokuProvider):
    """Creates (and, for new images, updates) a release; deleting it leaves the app as it is."""

    step, keys, outputs = "container release", CONTAINER_KEYS, ("images", "release_id", "release_version")

    def run(self, props: dict[str, Any]) -> dict[str, Any]:
        return release(props)

    def resource_id(self, props: dict[str, Any], outs: dict[str, Any]) -> str:
        return f"{props['app']}/{outs['release_id']}"


class BuildReleaseProvider(_HerokuProvider):
    """Waits for a build's release on create and whenever the build makes a new one (retrying one that failed
    before); delete has nothing to undo."""

    step, keys, outputs = "build release", BUILD_KEYS, ("release_version",)

    def run(self, props: dict[str, Any]) -> dict[str, Any]:
        return build_release(props)

    def resource_id(self, props: dict[str, Any], outs: dict[str, Any]) -> str:
        return f"{props['app']}/{props['release_id']}"


class AcmProvider(_HerokuProvider):
    """Enables ACM on create; delete disables it again (the stack no longer asks for a certificate)."""

    step, keys, outputs = "ACM", ACM_KEYS, ("acm",)
    verbs: ClassVar[dict[str, str]] = {"create": "enable", "update": "enable", "delete": "disable"}

    def run(self, props: dict[str, Any]) -> dict[str, Any]:
        return enable_acm(props)

    def resource_id(self, props: dict[str, Any], outs: dict[str, Any]) -> str:
        return f"{props['app']}/acm"

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._call("delete", disable_acm, props)


def _one_line_errors() -> None:
    """In Pulumi's dynamic-provider process, report a `HerokuApiError` as its message alone.

    That process answers a provider's exception with `traceback.format_exc()` as the gRPC error's details
    (pulumi/pulumi `sdk/python/lib/pulumi/dynamic/__main__.py`, `_abort_with_traceback`), and the CLI prints the
    details: a Python traceback for a Heroku refusal. The process serves only this program's dynamic providers, so
    there `format_exc` gives the one-line message of an error marked `one_line`, and the traceback of anything else.
    """
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None) != "pulumi.dynamic.__main__":
        return
    if getattr(traceback.format_exc, "one_line", False):
        return
    format_exc = traceback.format_exc

    def one_line_format_exc(*args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        return str(error) if getattr(error, "one_line", False) else format_exc(*args, **kwargs)

    one_line_format_exc.one_line = True  # type: ignore[attr-defined]
    traceback.format_exc = one_line_format_exc


_one_line_errors()
