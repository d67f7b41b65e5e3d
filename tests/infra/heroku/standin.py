"""A loopback stand-in for api.heroku.com, and for registry.heroku.com's manifest endpoint, that follows the schema.

Every Platform API request is matched against `../shared/heroku/platform-api-schema.json` (Heroku's JSON
hyper-schema as vendored in heroku/heroku-go `v5/schema.json`): its path against the links' `href` templates, with
each `{(#/definitions/<x>/definitions/identity)}` part checked against that identity schema, its method against the
link's `method`, and its body against the link's `schema` (draft 4, formats checked; no `schema`: no body). A
request no link describes, or a body the schema refuses, is recorded in `errors`, and the fixture fails the test.
Answers are generated from the link's `targetSchema` (each property's `example`), overridden by the scenario's
state, and validated against the `targetSchema` before they are sent.

Heroku's own error statuses, in its `{"id", "message"}` shape: a wrong key gets 401 `unauthorized`, an unknown app
(or release) 404 `not_found`, and a change Heroku would refuse 422 (releasing an image the registry does not hold,
enabling ACM while no dyno of a paid size runs).

The one extension of the schema is the container release (see `DOCKER_RELEASES_UPDATE`): Heroku's Dev Center page
"Container Registry & Runtime (Docker Deploys)" releases images with `PATCH /apps/{app}/formation`,
`{"updates": [{"type": "web", "docker_image": "<image id>"}]}` and `Accept: application/vnd.heroku+json;
version=3.docker-releases`, but the schema's formation `update` has `additionalProperties: false` and no
`docker_image`. Only a request with exactly that Accept header gets the extended `update`; all else stays strict.

The registry side answers `GET /v2/<app>/<process>/manifests/<tag or digest>` only, with the Basic credentials
`heroku container:release` sends (heroku/cli `src/commands/container/release.ts`: an empty user, the API key as
password; `_`, as in `docker login --username=_`, is accepted too), in the Docker Registry HTTP API V2's error shape.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_V3 = "application/vnd.heroku+json; version=3"
DOCKER_RELEASES = "application/vnd.heroku+json; version=3.docker-releases"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
# Sizes that can have ACM (https://devcenter.heroku.com/articles/automated-certificate-management: paid dynos).
ACM_SIZES = ("basic", "standard-1x", "standard-2x", "performance-m", "performance-l", "performance-l-ram",
             "performance-xl", "performance-2xl")
# THE SCHEMA EXTENSION (shared/heroku/README.md): the formation `update` with `docker_image`, for the
# docker-releases Accept header only.
DOCKER_RELEASES_UPDATE = {
    "additionalProperties": False,
    "properties": {"type": {"$ref": "#/definitions/formation/definitions/type"},
                   "docker_image": {"type": ["string"], "pattern": "^sha256:[0-9a-f]{64}$"}},
    "required": ["type", "docker_image"],
    "type": ["object"],
}
_PARAM = re.compile(r"\{\(([^)]*)\)\}")


@dataclass(frozen=True)
class Link:
    """One link of the hyper-schema: `definition` and `title` name it, e.g. ("release", "Info")."""

    definition: str
    title: str
    method: str
    href: str
    pattern: re.Pattern[str]
    params: tuple[str, ...]  # JSON pointers of the identity schemas of the path's parts
    schema: dict[str, Any] | None
    target_schema: dict[str, Any] | None


def load_links(schema: dict[str, Any]) -> list[Link]:
    links = []
    for name, definition in schema["definitions"].items():
        for link in definition.get("links", []):
            params = tuple(urllib.parse.unquote(p) for p in _PARAM.findall(link["href"]))
            regex = "".join(re.escape(part) if i % 2 == 0 else "([^/]+)"
                            for i, part in enumerate(_PARAM.split(link["href"])))
            links.append(Link(name, link["title"], link["method"], link["href"], re.compile(f"^{regex}$"), params,
                              link.get("schema"), link.get("targetSchema")))
    return links


class SchemaCheck:
    """Draft-4 validation of fragments of the hyper-schema, whose `$ref`s point into its `definitions`."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.definitions = schema["definitions"]
        self.formats = jsonschema.FormatChecker()

    def errors(self, fragment: dict[str, Any], value: Any, definitions: dict[str, Any] | None = None) -> list[str]:
        wrapper = {**fragment, "definitions": definitions or self.definitions}
        validator = jsonschema.Draft4Validator(wrapper, format_checker=self.formats)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(value)]

    def resolve(self, fragment: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in fragment:
            node: Any = self.schema
            for part in fragment["$ref"].lstrip("#/").split("/"):
                node = node[part]
            fragment = node
        return fragment

    def example(self, fragment: dict[str, Any], depth: int = 0) -> Any:
        """A value conforming to `fragment`, built from the schema's own examples."""
        fragment = self.resolve(fragment)
        if "example" in fragment:
            return copy.deepcopy(fragment["example"])
        for key in ("anyOf", "oneOf"):
            if key in fragment:
                return self.example(fragment[key][0], depth + 1)
        types = fragment.get("type", [])
        types = [types] if isinstance(types, str) else types
        if depth > 6 and "null" in types:
            return None
        if "object" in types or "properties" in fragment:
            return {k: self.example(v, depth + 1) for k, v in fragment.get("properties", {}).items()}
        if "array" in types:
            return [self.example(fragment["items"], depth + 1)] if "items" in fragment else []
        for kind, value in (("null", None), ("string", ""), ("integer", 0), ("number", 0), ("boolean", False)):
            if kind in types:
                return value
        return None


def manifest_bytes(config_digest: str, layers: int = 1) -> bytes:
    """A Docker image manifest v2 (schema 2), as a push leaves it in the registry."""
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                   "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000 + n,
                    "digest": "sha256:" + hashlib.sha256(f"{config_digest}{n}".encode()).hexdigest()}
                   for n in range(layers)],
    }, indent=3).encode()


def digest_of(payload: bytes) -> str:
    return "sha256:" + hashlib.sha256(payload).hexdigest()


@dataclass
class Release:
    """A release and the statuses successive reads see (the last one stays)."""

    id: str
    version: int
    statuses: list[str]
    description: str = "Deployed web (abc123)"
    output_stream_url: str | None = None

    def read(self) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"id": self.id, "version": self.version, "status": status, "description": self.description,
                "output_stream_url": self.output_stream_url, "current": status == "succeeded"}


@dataclass
class HerokuStandIn:
    """One app on api.heroku.com and its repositories on registry.heroku.com; the scenario edits the state."""

    schema: dict[str, Any]
    api_key: str = "hrku-standin-key"
    app_name: str = "acme-paasport"
    app_id: str = "6f1f35a2-0d5e-4a8a-9b3e-1c2d3e4f5a6b"
    acm: bool = False
    maintenance: bool = False
    formation: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> {"size", "quantity"}
    config_vars: dict[str, str] = field(default_factory=dict)
    domains: list[dict[str, str]] = field(default_factory=list)  # {"hostname", "cname"} of custom domains
    releases: list[Release] = field(default_factory=list)
    # What the next container release's reads see, e.g. ["pending", "succeeded"] or ["failed"].
    next_release_statuses: list[str] = field(default_factory=lambda: ["succeeded"])
    next_release_output: str | None = None
    next_release_description: str = "Deployed web, release"
    # (definition, title) -> (status, id, message): Heroku refusing a call whatever the state (e.g. 403).
    refuse: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)
    manifests: dict[tuple[str, str, str], bytes] = field(default_factory=dict)  # (app, process, digest or tag)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release_creates: list[dict[str, Any]] = field(default_factory=list)  # bodies of POST /apps/{app}/releases
    errors: list[str] = field(default_factory=list)
    api_url: str = ""
    registry_url: str = ""

    def __post_init__(self) -> None:
        self.links = load_links(self.schema)
        self.check = SchemaCheck(self.schema)
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self.add_release("succeeded")

    # ---- the scenario's helpers

    def add_release(self, *statuses: str, description: str = "Initial release",
                    output_stream_url: str | None = None) -> Release:
        version = (self.releases[-1].version if self.releases else 0) + 1
        release = Release(str(uuid.UUID(int=0x4E1EA5E << 64 | version)), version, list(statuses), description,
                          output_stream_url)
        self.releases.append(release)
        return release

    def push(self, process: str, config_digest: str) -> str:
        """An image pushed to registry.heroku.com/<app>/<process>:latest; returns the manifest's digest."""
        payload = manifest_bytes(config_digest)
        digest = digest_of(payload)
        for ref in (digest, "latest"):
            self.manifests[(self.app_name, process, ref)] = payload
        return digest

    def push_index(self, process: str, config_digest: str) -> str:
        """What a containerd-store push leaves: an OCI index of the image and an attestation manifest."""
        image = manifest_bytes(config_digest)
        attestation = manifest_bytes(digest_of(b"attestation"))
        for payload in (image, attestation):
            self.manifests[(self.app_name, process, digest_of(payload))] = payload
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest_of(image),
             "size": len(image), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest_of(attestation),
             "size": len(attestation), "platform": {"architecture": "unknown", "os": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        ]}).encode()
        digest = digest_of(index)
        for ref in (digest, "latest"):
            self.manifests[(self.app_name, process, ref)] = index
        return digest

    def calls(self, host: str = "api") -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.requests if r["host"] == host]

    # ---- api.heroku.com

    def api(self, request: Request) -> Response:
        with self.lock:
            body = request.get_data()
            self.requests.append({"host": "api", "method": request.method, "path": request.path,
                                  "headers": dict(request.headers), "body": json.loads(body) if body else None})
            return self._api(request, body)

    def _api(self, request: Request, body: bytes) -> Response:
        link, params = self._route(request.method, request.path)
        if link is None:
            self.errors.append(f"no link of the schema is {request.method} {request.path}")
            return _heroku_error(404, "not_found", "The requested API endpoint was not found.")
        accept = request.headers.get("Accept", "")
        docker_release = (link.definition, link.title) == ("formation", "Batch Update") and accept == DOCKER_RELEASES
        if accept != API_V3 and not docker_release:
            self.errors.append(f"{request.method} {request.path}: Accept {accept!r} is not {API_V3!r}")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _heroku_error(401, "unauthorized", "Invalid credentials provided.")
        if params[0] not in (self.app_name, self.app_id):
            return _heroku_error(404, "not_found", "Couldn't find that app.")
        problems = self._check_body(link, body, docker_release)
        if problems:
            self.errors.extend(f"{request.method} {request.path}: {p}" for p in problems)
            return _heroku_error(422, "invalid_params", "; ".join(problems))
        if (link.definition, link.title) in self.refuse:
            return _heroku_error(*self.refuse[(link.definition, link.title)])
        handler = HANDLERS.get((link.definition, link.title))
        if handler is None:
            self.errors.append(f"{request.method} {request.path} ({link.definition} {link.title}) is in the schema "
                               "but not expected by this stand-in")
            return _heroku_error(404, "not_found", "The requested API endpoint was not found.")
        status, answer, headers = handler(self, request, params, json.loads(body) if body else None)
        if status < 300:
            problems = self.check.errors(link.target_schema or {}, answer)
            if problems:
                self.errors.extend(f"stand-in answer to {link.title} breaks targetSchema: {p}" for p in problems)
        return Response(json.dumps(answer), status, headers, content_type="application/json")

    def _route(self, method: str, path: str) -> tuple[Link | None, list[Any]]:
        for link in self.links:
            match = link.pattern.match(path) if link.method == method else None
            if not match:
                continue
            params = [urllib.parse.unquote(p) for p in match.groups()]
            values = []
            for pointer, value in zip(link.params, params, strict=True):
                candidates = [value] + ([int(value)] if value.isdigit() else [])
                fitting = [c for c in candidates if not self.check.errors({"$ref": pointer}, c)]
                if not fitting:
                    break
                values.append(fitting[0])
            else:
                return link, values
        return None, []

    def _check_body(self, link: Link, body: bytes, docker_release: bool) -> list[str]:
        if link.schema is None:
            return ["this link takes no body"] if body else []
        try:
            value = json.loads(body)
        except ValueError:
            return ["the body is not JSON"]
        definitions = self.check.definitions
        if docker_release:
            definitions = copy.deepcopy(definitions)
            definitions["formation"]["definitions"]["update"] = DOCKER_RELEASES_UPDATE
        # Request bodies are held to their listed properties (the schema's `strictProperties` spirit).
        strict = {**link.schema, "additionalProperties": False} if "properties" in link.schema else link.schema
        return self.check.errors(strict, value, definitions)

    # ---- shaped answers

    def app_answer(self) -> dict[str, Any]:
        answer = self.check.example({"$ref": "#/definitions/app"})
        answer.update(id=self.app_id, name=self.app_name, acm=self.acm, maintenance=self.maintenance,
                      stack={"id": answer["stack"]["id"], "name": "container"})
        return answer

    def domain_answer(self, domain: dict[str, str]) -> dict[str, Any]:
        answer = self.check.example({"$ref": "#/definitions/domain"})
        answer.update(hostname=domain["hostname"], cname=domain["cname"], kind="custom",
                      app={"id": self.app_id, "name": self.app_name})
        return answer

    def release_answer(self, release: Release) -> dict[str, Any]:
        answer = self.check.example({"$ref": "#/definitions/release"})
        answer.update(release.read())
        answer["app"] = {"id": self.app_id, "name": self.app_name}
        return answer

    def formation_answer(self, process: str) -> dict[str, Any]:
        answer = self.check.example({"$ref": "#/definitions/formation"})
        answer.update(type=process, **self.formation.get(process, {"size": "basic", "quantity": 0}))
        answer["app"] = {"id": self.app_id, "name": self.app_name}
        return answer

    # ---- registry.heroku.com

    def registry(self, request: Request) -> Response:
        with self.lock:
            self.requests.append({"host": "registry", "method": request.method, "path": request.path,
                                  "headers": dict(request.headers), "body": None})
            match = re.fullmatch(r"/v2/([a-z0-9-]+)/([\w-]+)/manifests/([\w:.-]+)", request.path)
            if request.method != "GET" or not match:
                self.errors.append(f"registry: unexpected {request.method} {request.path}")
                return _registry_error(404, "NAME_UNKNOWN", "repository name not known to registry")
            if MANIFEST_V2 not in request.headers.get("Accept", ""):
                self.errors.append(f"registry: {request.path} without Accept {MANIFEST_V2}")
            credentials = request.authorization
            if not (credentials and credentials.type == "basic" and credentials.password == self.api_key
                    and credentials.username in ("", "_", None)):
                return _registry_error(401, "UNAUTHORIZED", "authentication required")
            payload = self.manifests.get(match.groups())
            if payload is None:
                return _registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            media = json.loads(payload)["mediaType"]
            return Response(payload, 200, {"Docker-Content-Digest": digest_of(payload)}, content_type=media)


def _heroku_error(status: int, ident: str, message: str) -> Response:
    return Response(json.dumps({"id": ident, "message": message}), status, content_type="application/json")


def _registry_error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}), status,
                    content_type="application/json")


# ---- behaviour per link: (state, request, path parameters, body) -> (status, answer, headers)

def _app_info(s: HerokuStandIn, _r: Request, _p: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    return 200, s.app_answer(), {}


def _app_update(s: HerokuStandIn, _r: Request, _p: list[Any], body: Any) -> tuple[int, Any, dict[str, str]]:
    if "maintenance" in body:
        s.maintenance = body["maintenance"]
    return 200, s.app_answer(), {}


def _config_vars(s: HerokuStandIn, _r: Request, _p: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    return 200, dict(s.config_vars), {}


def _formation_list(s: HerokuStandIn, _r: Request, _p: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    return 200, [s.formation_answer(process) for process in s.formation], {}


def _domain_list(s: HerokuStandIn, _r: Request, _p: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    return 200, [s.domain_answer(d) for d in s.domains], {}


def _enable_acm(s: HerokuStandIn, _r: Request, _p: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    if not any(f["quantity"] > 0 and f["size"].lower() in ACM_SIZES for f in s.formation.values()):
        return 422, {"id": "invalid_params", "message": "Automated Certificate Management requires the app to run "
                                                        "a dyno of a paid size (Basic or larger)."}, {}
    s.acm = True
    return 200, s.app_answer(), {}


def _disable_acm(s: HerokuStandIn, _r: Request, _p: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    s.acm = False
    return 200, s.app_answer(), {}


def _formation_batch(s: HerokuStandIn, request: Request, _p: list[Any], body: Any) -> tuple[int, Any, dict[str, str]]:
    updates = body["updates"]
    images = {u["type"]: u["docker_image"] for u in updates if "docker_image" in u}
    if images:
        for process, image in images.items():
            pushed = s.manifests.get((s.app_name, process, "latest"))
            held = {json.loads(p).get("config", {}).get("digest") for (app, proc, _), p in s.manifests.items()
                    if app == s.app_name and proc == process}
            if pushed is None or image not in held:
                return 422, {"id": "invalid_params",
                             "message": f"Couldn't find the image {image} in registry.heroku.com/"
                                        f"{s.app_name}/{process}."}, {}
        s.add_release(*s.next_release_statuses, description=s.next_release_description,
                      output_stream_url=s.next_release_output)
    for update in updates:
        current = s.formation.setdefault(update["type"], {"size": "basic", "quantity": 0})
        current.update({k: update[k] for k in ("size", "quantity") if k in update})
    return 200, [s.formation_answer(u["type"]) for u in updates], {}


def _release_list(s: HerokuStandIn, request: Request, _p: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    ranged = request.headers.get("Range", "")
    order = sorted(s.releases, key=lambda r: r.version, reverse="order=desc" in ranged)
    limit = re.search(r"max=(\d+)", ranged)
    shown = order[: int(limit.group(1))] if limit else order
    return (206 if len(shown) < len(order) else 200), [s.release_answer(r) for r in shown], {}


def _release_info(s: HerokuStandIn, _r: Request, params: list[Any], _b: Any) -> tuple[int, Any, dict[str, str]]:
    wanted = params[1]
    for release in s.releases:
        if wanted in (release.id, release.version):
            return 200, s.release_answer(release), {}
    return 404, {"id": "not_found", "message": "Couldn't find that release."}, {}


def _release_create(s: HerokuStandIn, _r: Request, _p: list[Any], body: Any) -> tuple[int, Any, dict[str, str]]:
    """A new release of a slug (what `heroku releases:retry` sends); its reads see `next_release_statuses`."""
    s.release_creates.append(body)
    release = s.add_release(*s.next_release_statuses, description=body.get("description") or "Deploy",
                            output_stream_url=s.next_release_output)
    return 201, s.release_answer(release), {}


HANDLERS = {
    ("app", "Info"): _app_info,
    ("app", "Update"): _app_update,
    ("config-var", "Info for App"): _config_vars,
    ("formation", "List"): _formation_list,
    ("domain", "List"): _domain_list,
    ("release", "Create"): _release_create,
    ("app", "Enable ACM"): _enable_acm,
    ("app", "Disable ACM"): _disable_acm,
    ("formation", "Batch Update"): _formation_batch,
    ("release", "List"): _release_list,
    ("release", "Info"): _release_info,
}


@contextmanager
def serving(schema_path: Path) -> Iterator[HerokuStandIn]:
    """The stand-in on two loopback ports (werkzeug's threaded server): `api_url` and `registry_url`."""
    state = HerokuStandIn(json.loads(schema_path.read_text()))
    servers = [make_server("127.0.0.1", 0, Request.application(handler), threaded=True)
               for handler in (state.api, state.registry)]
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
               for server in servers]
    for thread in threads:
        thread.start()
    state.api_url, state.registry_url = (f"http://127.0.0.1:{server.server_port}" for server in servers)
    try:
        yield state
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
