"""Offline plan: run the very same Pulumi program under Pulumi's mock runtime and show what a stack would create.

    python -m offline.plan --stack k8s [--config KEY=VALUE ...] [--json] [--render DIR [--show-secrets]]

The program runs as the Python language host runs it (pulumi/pulumi `sdk/python/cmd/pulumi-language-python-exec`):
`runpy.run_path("infra/")` with infra/ as the working directory, config values as the CLI hands them (Pulumi.yaml's
defaults, then the stack file's, as strings; objects as JSON). The mocks stand in for the engine only (no CLI,
cluster, registry or credentials): they record each registration with its inputs and dependencies, answer with
the outputs later inputs read, and refuse what the real providers refuse before anything is created: a path that
does not exist from the program directory, where providers run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import hashlib
import json
import logging
import os
import pickle
import re
import runpy
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import bcrypt
import pulumi
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import SETTINGS, set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from infra import settings as program_settings
from infra.k8s.settings import is_kubeconfig_contents
from infra.paths import PROGRAM_DIR, PROJECT_DIR
from infra.settings import SECRET_KEYS, ConfigError, foreign_key, kind, read_yaml, stack_file_config, unknown_key
from offline import helm
from offline import types as t
from offline.helm import HelmError

SECRET = "[secret]"  # noqa: S105 (the redaction marker)


class _Diagnostics(logging.Handler):
    """The program's `pulumi.log` messages as the CLI shows them: `warning: ...` (or `info:`, `error:`) on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


# The stock mock engine logs to the root logger, whose last-resort handler prints a warning without its level.
DIAGNOSTICS = logging.getLogger("offline.plan.diagnostics")
DIAGNOSTICS.propagate = False
DIAGNOSTICS.setLevel(logging.INFO)  # the CLI shows info and above unless --debug
DIAGNOSTICS.addHandler(_Diagnostics())


class ProviderCheckError(pulumi.RunError):
    """What a provider's check would refuse at `pulumi preview`, such as a path that does not exist."""


@dataclass
class Registration:
    """One resource the program registered: what the engine would be asked to create."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]  # URNs
    protect: bool  # Pulumi refuses to delete or replace it (`pulumi.ResourceOptions.protect`)
    outputs: dict[str, Any] = field(default_factory=dict)
    before_update: tuple[str, ...] = ()  # names of the resource hooks the engine runs before an update
    provider: str = ""  # the explicit provider's reference (URN::id); "" for the package's default provider
    aliases: tuple[str, ...] = ()  # the URNs the engine takes for this resource's old ones (`pulumi.Alias`)


@dataclass
class Plan:
    """Everything one run of the program registered, in registration order, and the stack outputs."""

    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]  # secret values keep rpc's secret wrapper
    # The registered resource hooks by name, called as the engine calls them (serialized request in).
    hooks: dict[str, Callable[[bytes], Awaitable[Any]]] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)  # the stack's config as the program read it

    def name_of(self, urn: str) -> str:
        return next((r.name for r in self.resources if r.urn == urn), urn.rsplit("::", 1)[-1])

    def find(self, type_: str, name: str | None = None) -> list[Registration]:
        return [r for r in self.resources if r.type == type_ and (name is None or r.name == name)]


def _fake(seed: str, length: int = 24) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _uuid(seed: str) -> str:
    h = _fake(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _provider_paths(typ: str, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """(input, path) pairs that a provider opens from its working directory, the program directory.

    Sources: pulumi-docker-build `Image` context and Dockerfile locations; terraform-provider-heroku
    `heroku_build` (`os.Stat(path)` in CustomizeDiff and Create); pulumi-kubernetes' Provider `kubeconfig` when it
    is a path, and a Helm chart that is not a registry reference.
    """
    if typ == t.BUILDX_IMAGE:  # a Dockerfile is a location or inline text (pulumi-docker-build DockerfileArgs)
        dockerfile = inputs.get("dockerfile") or {}
        return [("context.location", (inputs.get("context") or {}).get("location", "")),
                *([] if "inline" in dockerfile else [("dockerfile.location", dockerfile.get("location", ""))])]
    if typ == t.HEROKU_BUILD:
        return [("source.path", (inputs.get("source") or {}).get("path", ""))]
    if typ == t.K8S_PROVIDER:
        kubeconfig = inputs.get("kubeconfig") or ""
        if rpc.is_rpc_secret(kubeconfig):
            kubeconfig = rpc.unwrap_rpc_secret(kubeconfig)
        return [] if not kubeconfig or is_kubeconfig_contents(kubeconfig) else [
            ("kubeconfig", kubeconfig)]
    if typ.startswith("kubernetes:helm.sh/"):
        chart = str(inputs.get("chart") or "")
        remote = chart.startswith(("oci://", "https://")) or (inputs.get("repositoryOpts") or {}).get("repo")
        return [] if remote else [("chart", chart)]
    return []


def _plain(value: Any) -> Any:
    """Inputs with rpc's secret wrappers taken off (a provider sees the values)."""
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, list) else value


@cache
def _ec_key(name: str) -> ec.EllipticCurvePrivateKey:
    """One P-256 key per resource name in a process, so that two runs of the program plan the same objects."""
    return ec.generate_private_key(ec.SECP256R1())


_KEY_USAGES = {"digital_signature": "digital_signature", "cert_signing": "key_cert_sign", "crl_signing": "crl_sign",
               "key_encipherment": "key_encipherment"}
_EXTENDED_USAGES = {"server_auth": x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                    "client_auth": x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH}


def _certificate(subject: x509.Name, public_key: Any, issuer: x509.Name, signer: Any, inputs: dict,
                 names: x509.SubjectAlternativeName | None = None) -> str:
    """A certificate as hashicorp/terraform-provider-tls makes one from the same inputs (is_ca_certificate,
    validity_period_hours, allowed_uses; a locally signed one keeps its request's DNS names)."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    uses = {attr: False for attr in ("digital_signature", "content_commitment", "key_encipherment",
                                     "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                                     "encipher_only", "decipher_only")}
    uses.update({_KEY_USAGES[u]: True for u in inputs.get("allowedUses") or [] if u in _KEY_USAGES})
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(hours=int(inputs.get("validityPeriodHours") or 0)))
               .add_extension(x509.KeyUsage(**uses), critical=True)
               .add_extension(x509.BasicConstraints(ca=bool(inputs.get("isCaCertificate")), path_length=None),
                              critical=True))
    extended = [_EXTENDED_USAGES[u] for u in inputs.get("allowedUses") or [] if u in _EXTENDED_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    if names is not None:
        builder = builder.add_extension(names, critical=False)
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def tls_outputs(typ: str, name: str, inputs: dict) -> dict[str, Any]:
    """Real keys, requests and certificates for pulumi-tls registrations (ECDSA P-256 only: what the program asks)."""
    def load_key(pem: str) -> Any:
        return serialization.load_pem_private_key(pem.encode(), password=None)

    def subject(args: dict) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (args.get("subject") or {}).get("commonName", ""))])

    if typ == t.TLS_PRIVATE_KEY:
        key = _ec_key(name)
        return {"privateKeyPem": key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                                   serialization.NoEncryption()).decode(),
                "privateKeyPemPkcs8": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()).decode(),
                "publicKeyPem": key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()}
    if typ == t.TLS_SELF_SIGNED_CERT:
        key = load_key(inputs["privateKeyPem"])
        return {"certPem": _certificate(subject(inputs), key.public_key(), subject(inputs), key, inputs),
                "readyForRenewal": False}
    if typ == t.TLS_CERT_REQUEST:
        key = load_key(inputs["privateKeyPem"])
        builder = x509.CertificateSigningRequestBuilder().subject_name(subject(inputs))
        if inputs.get("dnsNames"):
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in inputs["dnsNames"]]), critical=False)
        csr = builder.sign(key, hashes.SHA256())
        return {"certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}
    if typ == t.TLS_LOCALLY_SIGNED_CERT:
        csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        try:
            names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            names = None
        return {"certPem": _certificate(csr.subject, csr.public_key(), ca.subject,
                                        load_key(inputs["caPrivateKeyPem"]), inputs, names),
                "readyForRenewal": False}
    return {}


class PlanMocks(Mocks):
    """Answers registrations with the outputs the real providers would compute and later inputs read."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        for key, path in _provider_paths(args.typ, args.inputs):
            if not path or not Path(path).exists():  # relative to the working directory: the program directory
                raise ProviderCheckError(
                    f"{args.typ} {args.name}: {key} {path!r} does not exist from the program directory "
                    f"({PROGRAM_DIR}), where the engine runs providers")
        state = dict(args.inputs)
        if args.typ.startswith("kubernetes:") and not args.typ.startswith("kubernetes:helm.sh"):
            # The provider auto-names objects without metadata.name; the plan shows the logical name instead.
            metadata = dict(state.get("metadata") or {})
            metadata.setdefault("name", args.name)
            state["metadata"] = metadata
        elif args.typ == t.HELM_RELEASE:
            state["status"] = {"name": state.get("name", args.name), "namespace": state.get("namespace", ""),
                               "chart": state.get("chart"), "version": state.get("version"), "status": "deployed"}
        elif args.typ.startswith("random:index/random"):
            state["result"] = f"plan-{_fake(args.name)}"
            if args.typ == t.RANDOM_PASSWORD:  # terraform-provider-random: bcrypt.GenerateFromPassword, cost 10
                state["bcryptHash"] = bcrypt.hashpw(state["result"].encode(), bcrypt.gensalt(10)).decode()
        elif args.typ == t.BUILDX_IMAGE:
            tag = (state.get("tags") or [args.name])[0]
            state["digest"] = f"sha256:{_fake(tag + json.dumps(state.get('buildArgs'), sort_keys=True), 64)}"
            state["ref"] = f"{tag}@{state['digest']}"
        elif args.typ.startswith("heroku:"):
            return self._heroku(args, state)
        elif args.typ.startswith("tls:"):
            state.update(tls_outputs(args.typ, args.name, _plain(state)))
        elif args.typ == t.CONTAINER_RELEASE:
            state.update(release_id=_uuid(args.name), release_version=1,  # and each manifest's config digest
                         images={k: f"sha256:{_fake(str(v), 64)}" for k, v in (state.get("manifests") or {}).items()})
            return f"{state.get('app')}/{state['release_id']}", state
        return f"{args.name}-id", state

    @staticmethod
    def _heroku(args: MockResourceArgs, state: dict) -> tuple[str, dict]:
        """Heroku resources are addressed by UUID; apps also get their herokuapp.com address."""
        id_ = _uuid(args.typ + args.name)
        if args.typ == t.HEROKU_APP:
            name = state.get("name", args.name)
            host = f"{name}-{_fake(name, 12)}.herokuapp.com"
            state.update(uuid=id_, herokuHostname=host, webUrl=f"https://{host}/",
                         gitUrl=f"https://git.heroku.com/{name}.git")
        elif args.typ == t.HEROKU_ADDON:
            state.update(name=f"postgresql-{_fake(args.name, 8)}", configVars=["DATABASE_URL"])
        elif args.typ == t.HEROKU_DOMAIN:
            state["cname"] = f"{_fake(state.get('hostname', args.name), 8)}-{_fake(args.name, 16)}.herokudns.com"
        elif args.typ == t.HEROKU_BUILD:
            state.update(uuid=id_, status="succeeded", releaseId=_uuid(id_ + "release"))
        elif args.typ == t.HEROKU_DRAIN:
            state["token"] = f"d.{_uuid(args.name)}"
        return id_, state

    def call(self, args):  # no provider functions are invoked by the program
        return {}


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, plus a record of every registration's parent, dependencies and secret outputs."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.hooks: dict[str, Callable[[bytes], Awaitable[Any]]] = {}

    def make_urn(self, parent: str, type_: str, name: str, stack: str = "", project: str = "") -> str:
        """The URN as the engine makes it (pulumi/pulumi `pkg/resource/deploy/deployment.go`, generateURN, and
        `sdk/go/common/resource/urn/urn.go`, New): the parent's whole qualified type before the resource's, except
        for the root stack's (the stock mock monitor puts `pulumi:pulumi:Stack$` in and keeps only the last type)."""
        qualified = parent.split("::")[2] if parent else ""
        typ = f"{qualified}${type_}" if qualified and qualified != "pulumi:pulumi:Stack" else type_
        return "urn:pulumi:" + "::".join([stack or pulumi.get_stack(), project or pulumi.get_project(), typ, name])

    def alias_urns(self, request) -> tuple[str, ...]:
        """Each alias of `request` as the URN the engine looks for in the state (pulumi/pulumi
        `pkg/resource/deploy/step_generator.go`, collapseAliasToUrn: the alias's name, type, parent, stack and
        project, each else the resource's own; no parent for the root stack)."""
        urns = []
        for alias in request.aliases:
            spec = alias.spec
            urns.append(alias.urn or self.make_urn("" if spec.noParent else (spec.parentUrn or request.parent),
                                                   spec.type or request.type, spec.name or request.name,
                                                   spec.stack, spec.project))
        return tuple(urns)

    def RegisterResourceHook(self, request):
        # The SDK's callback server holds the hook under this token; the engine would call it through gRPC.
        self.hooks[request.name] = SETTINGS.callbacks._callbacks[request.callback.token]
        return super().RegisterResourceHook(request)

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = rpc.deserialize_properties(request.object)
        args = MockResourceArgs(typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                                resource_id=request.importId, custom=request.custom or False)
        id_, state = self.mocks.new_resource(args)
        # The engine makes these outputs secret (e.g. random passwords); the stock mock monitor does not.
        for key in request.additionalSecretOutputs:
            if key in state and not rpc.is_rpc_secret(state[key]):
                state[key] = rpc.wrap_rpc_secret(state[key])
        self.registrations.append(Registration(
            type=request.type, name=request.name, urn=urn, parent=request.parent, custom=bool(request.custom),
            inputs=inputs, dependencies=list(dict.fromkeys(request.dependencies)), protect=bool(request.protect),
            outputs=state, before_update=tuple(request.hooks.before_update), provider=request.provider,
            aliases=self.alias_urns(request),
        ))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        obj = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)


def _config_value(value: Any) -> tuple[str, bool]:
    """A stack-file value as the CLI hands it to the program, and whether it is a secret."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET, True  # ciphertext cannot be decrypted offline; the plan uses a placeholder
    if isinstance(value, bool):
        return str(value).lower(), False
    if isinstance(value, dict | list):
        return json.dumps(value), False
    return str(value), False


def load_config(stack: str, overrides: list[str], secrets: list[str] | None = None
                ) -> tuple[str, dict[str, str], list[str]]:
    """Project name, config map and secret keys as `pulumi up --stack STACK` would give them to the program.

    `secrets` are `KEY=VALUE` overrides set as `pulumi config set --secret KEY VALUE` sets them: the program reads
    the same string, and the key is a secret key. A KEY with `.` or `[` is a path into an object, as `pulumi config
    set --path` (and `pulumi preview --config-path --config`) takes it: `config_vars.MAIL_FROM=x` adds MAIL_FROM to
    the stack's config_vars.
    """
    project, config, secret_keys, _given = _load_config(stack, overrides, secrets or [])
    return project, config, secret_keys


def _load_config(stack: str, overrides: list[str], secrets: list[str]
                 ) -> tuple[str, dict[str, str], list[str], dict[str, list[str]]]:
    """`load_config`, and where each key was set beyond Pulumi.yaml's defaults (full key -> the stack file and the
    options, e.g. ["Pulumi.heroku.yaml", "--config config_vars.MAIL_FROM"]), which the program's messages name."""
    project_file = read_yaml(PROJECT_DIR / "Pulumi.yaml")
    project = project_file["name"]
    stack_path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    if not stack_path.is_file():
        raise pulumi.RunError(f"No stack file {stack_path.name}: create it (e.g. copy Pulumi.k8s.yaml) "
                              f"or pick another --stack.")
    stack_config = stack_file_config(stack_path)
    if bare := [_bare_key(project, stack_path.name, str(key)) for key in stack_config if ":" not in str(key)]:
        raise ConfigError(f"Invalid configuration of stack {stack!r} ({stack_path.name}):\n  - " + "\n  - ".join(bare))
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    given: dict[str, list[str]] = {}

    def put(full: str, value: Any, by: list[str], *, as_secret: bool = False) -> None:
        config[full], secret = _config_value(value)
        if full in secret_keys:
            secret_keys.remove(full)  # a later value replaces a secret one, as `pulumi config set` does
        if secret or as_secret:
            secret_keys.append(full)
        given.pop(full, None)
        if by:
            given[full] = by

    for key, spec in (project_file.get("config") or {}).items():
        if isinstance(spec, dict) and "default" in spec:
            put(_full_key(project, key), spec["default"], [])
        elif isinstance(spec, dict) and "value" in spec:  # another package's setting (a provider's), set for all
            put(_full_key(project, key), spec["value"], [])
    for key, value in stack_config.items():
        put(_full_key(project, str(key)), value, [stack_path.name])
    problems = []
    flagged: list[tuple[str, str, str, str]] = []  # (key, by, the option without the value, the value shown)
    for flag, items, as_secret in (("--config", overrides, False), ("--secret-config", secrets, True)):
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise pulumi.RunError(f"{flag} {key.strip() or '?'}=... is not KEY=VALUE (e.g. {flag} replicas=3).")
            key = key.strip()
            namespace, _, name = _full_key(project, key).partition(":")
            root, path = _config_path(name, f"{flag} {key}=…")
            # a secret's value never enters a message, nor does one of the keys that only ever hold secrets
            shown = "…" if as_secret or (namespace == project and root in SECRET_KEYS) else _shown_value(value)
            by = f"{flag} {key}={shown}"
            if namespace == project and (problem := unknown_key(
                    project, root, by, functools.partial(_flag_spelling, flag, name.removeprefix(root), shown))):
                problems.append(problem)
                continue
            full = f"{namespace}:{root}"
            origin = f"{flag} {key}"  # without the value, which the program's message quotes if it may
            if namespace == project:
                flagged.append((root, by, origin, shown))
            if not path:
                put(full, value, [origin], as_secret=as_secret)
                continue
            # A path sets a part of the stack's own value of the key (Pulumi.yaml's default is not merged: the
            # stack's value replaces it, as in the CLI), and the key stays a secret once a part of it is one.
            before = given.get(full, [])
            base = config[full] if before else None
            merged = _set_path(base, root, path, value, by, secret=as_secret)
            put(full, merged, [*before, origin], as_secret=as_secret or (bool(before) and full in secret_keys))
    platform = config.get(f"{project}:platform", "")
    for root, by, origin, shown in flagged if platform in ("k8s", "heroku", "cluster") else ():
        flag = origin.split(" ", 1)[0]
        if problem := foreign_key(project, root, stack, platform, f" ({by})", f"drop {by}",
                                  lambda known, example, flag=flag, shown=shown:
                                  f"give {flag} {known}={example or shown}"):
            problems.append(problem)
    if problems:  # as `pulumi up --config` would write them into the stack file, whose keys the program checks
        raise ConfigError(f"Invalid configuration of stack {stack!r} (options of offline.plan):\n  - "
                          + "\n  - ".join(problems))
    return project, config, secret_keys, given


def _bare_key(project: str, file: str, key: str) -> str:
    """The problem of a stack-file key without a namespace: the CLI refuses the whole file for it (pulumi/pulumi
    sdk/go/common/resource/config/key.go, ParseKey: "configuration keys should be of the form
    `<namespace>:<name>`"); one the program does not read also gets the closest key it does."""
    return unknown_key(project, key, file, lambda known: f"`{project}:{known}`") or (
        f"{file} key `{key}` has no namespace, and the CLI reads only `<namespace>:<key>` there. Fix: write "
        f"`{project}:{key}` instead.")


def _full_key(project: str, key: str) -> str:
    """`key` with its namespace: one before a `:` (ahead of any path), else the project's, as `pulumi config`
    reads it."""
    head = re.split(r"[.\[]", key, maxsplit=1)[0]
    return key if ":" in head else f"{project}:{key}"


def _shown_value(value: str, limit: int = 60) -> str:
    """An option's value as a message quotes it: one line, cut short."""
    text = value if value.isprintable() else repr(value)[1:-1]
    return text if len(text) <= limit else text[:limit] + "…"


# pulumi/pulumi sdk/go/common/resource/properties_path.go, ParsePropertyPath: `name`, `.name`, `[0]`, `["any key"]`
# (with `\"` inside quotes); the first part is the config key.
_PATH_PART = re.compile(r'\.?([^.\[]+)|\[(\d+)\]|\["((?:\\"|[^"])*)"\]')


def _config_path(name: str, by: str) -> tuple[str, list[str | int]]:
    """The key and the path after it in `name` (`config_vars.MAIL_FROM` -> config_vars, ["MAIL_FROM"])."""
    parts: list[str | int] = []
    at = 0
    while at < len(name):
        match = _PATH_PART.match(name, at)
        if match is None or match.end() == at:
            raise ConfigError(f"{by}: {name!r} is not a key path `pulumi config set --path` reads (it stops at "
                              f"character {at + 1}). Fix: write KEY.NAME=VALUE, or KEY[\"NAME\"]=VALUE for a name "
                              "with dots.")
        word, index, quoted = match.groups()
        parts.append(word if word is not None else int(index) if index is not None else quoted.replace('\\"', '"'))
        at = match.end()
    if not parts or not isinstance(parts[0], str):
        raise ConfigError(f"{by}: a key path starts with the key's name. Fix: write KEY.NAME=VALUE.")
    return str(parts[0]), parts[1:]


def _set_path(base: str | None, root: str, path: list[str | int], value: str, by: str, *, secret: bool) -> Any:
    """The key's value (JSON text, or None when the stack does not set it) with `value` at `path`, as `pulumi config
    set --path` writes it (pulumi/pulumi sdk/go/common/resource/config/map.go, Map.Set and adjustObjectValue: a plain
    "true"/"false" is a boolean and a whole number without a leading 0 an integer; a secret stays a string)."""
    try:
        obj = None if base is None else json.loads(base)
    except ValueError:
        obj = base
    if obj is not None and not isinstance(obj, dict | list):
        held = "a secret that cannot be read offline" if obj == SECRET else f"{kind(obj)}, not an object"
        raise ConfigError(f"{by}: the stack's {root} is {held}, so the path has nothing to go into. Fix: give the "
                          f"whole value, e.g. {by.split(' ', 1)[0]} {root}='{{\"NAME\": \"value\"}}'.")
    leaf: Any = value
    if not secret:
        if value in ("true", "false"):
            leaf = value == "true"
        elif re.fullmatch(r"[-+]?\d+", value) and not (len(value) > 1 and value[0] == "0"):
            leaf = int(value)
    root_holder: dict[str, Any] = {root: obj}
    holder: Any = root_holder
    key: str | int = root
    for part in path:
        current = holder.get(key) if isinstance(holder, dict) else holder[key] if key < len(holder) else None
        if current is None:
            current = [] if isinstance(part, int) else {}
            _put(holder, key, current, by)
        elif not isinstance(current, list if isinstance(part, int) else dict):
            expected = "a list" if isinstance(part, int) else "an object"
            raise ConfigError(f"{by}: {root}'s value at {part!r} is {kind(current)}, not {expected}. Fix: give the "
                              f"path of a part that is {expected}, or the whole value of {root}.")
        holder, key = current, part
    _put(holder, key, leaf, by)
    return root_holder[root]


def _put(holder: Any, key: str | int, value: Any, by: str) -> None:
    if isinstance(holder, list):
        if not 0 <= int(key) <= len(holder):
            raise ConfigError(f"{by}: index {key} is beyond the end of a list of {len(holder)}. Fix: use an index "
                              f"from 0 to {len(holder)}.")
        holder[key:key + 1] = [value]
    else:
        holder[key] = value


def _flag_spelling(flag: str, path: str, value: str, known: str) -> str:
    """The option that sets `known` (and the same `path` into it) to `value`."""
    return f"{flag} {known}{path}={value}"


def run(stack: str, overrides: list[str] | None = None, secrets: list[str] | None = None, *,
        name_options: bool = False) -> Plan:
    """Run `infra/` as the Pulumi Python host does (its working directory, sys.path and config), with the mocks
    in place of the engine; a `pulumi.RunError` (bad settings, a provider check) says what is wrong.
    `secrets` are overrides set as secrets (`pulumi config set --secret`).

    The overrides reach the program as `pulumi preview --config` gives them: that command writes them into the
    stack file first, so the program's messages name the file. The command-line tools, which leave the file as it
    is, pass `name_options`: the messages then name the option that gave a value."""
    project, config, secret_keys, given = _load_config(stack, overrides or [], secrets or [])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(PlanMocks())
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, logger=DIAGNOSTICS,
                             monitor=monitor)
    SETTINGS.outputs.clear()
    set_root_resource(None)  # set_mocks made a root stack; run_in_stack makes the program's own, as the host does
    stacks = []

    def program() -> None:
        stacks.append(pulumi.runtime.get_root_resource())  # the program's Stack, which collects its exports
        runpy.run_path(str(PROGRAM_DIR), run_name="__main__")

    cwd = os.getcwd()
    # pulumi.dynamic's serialize_provider wraps pickle._Pickler._batch_setitems (and replaces save_dict) on every
    # dynamic resource and never puts them back: in one process each run would nest the wrappers deeper, until
    # pickling a provider exceeds the recursion limit. A `pulumi up` runs the program once; the plan may run it often.
    pickler = pickle._Pickler._batch_setitems, pickle._Pickler.save_dict
    os.chdir(PROGRAM_DIR)  # the host's --pwd; providers run there too
    if name_options:
        program_settings.GIVEN_BY.update(given)
    try:
        loop.run_until_complete(run_in_stack(program))
        outputs = loop.run_until_complete(_resolve_outputs(stacks[0].outputs))
    finally:
        program_settings.GIVEN_BY.clear()
        os.chdir(cwd)
        loop.close()
        asyncio.set_event_loop(None)
        pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = pickler
    # Registration order varies with the asyncio schedule; URN order is stable.
    return Plan(stack=stack, resources=sorted(monitor.registrations, key=lambda r: r.urn), outputs=outputs,
                hooks=monitor.hooks, config=dict(config))


def before_update(old: Plan, new: Plan) -> list[str]:
    """What the engine's `before_update` resource hooks say when `new` is applied over `old`'s state.

    The engine runs them for each resource it updates (same URN, other inputs), with the old and new inputs
    (pulumi/pulumi `pkg/resource/deploy/step.go`, UpdateStep); a hook that raises fails that update. Returns
    the error of each hook that refused, "NAME: message", in URN order.
    """
    olds = {r.urn: r for r in old.resources}
    errors = []
    for reg in new.resources:
        previous = olds.get(reg.urn)
        if previous is None or reveal(previous.inputs, True) == reveal(reg.inputs, True):
            continue
        for name in reg.before_update:
            request = resource_pb2.ResourceHookRequest(
                urn=reg.urn, id=f"{reg.name}-id", name=reg.name, type=reg.type,
                old_inputs=_struct(previous.inputs), new_inputs=_struct(reg.inputs))
            response = asyncio.run(new.hooks[name](request.SerializeToString()))
            if response.error:
                errors.append(f"{name}: {response.error}")
    return errors


def _struct(inputs: dict[str, Any]) -> Any:
    return _sync_await(rpc.serialize_properties(inputs, {}))


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved = {}
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        plain = await out.future()
        resolved[key] = rpc.wrap_rpc_secret(plain) if await out.is_secret() else plain
    return resolved


def reveal(value: Any, show_secrets: bool = False) -> Any:
    """`value` as plain data: secrets unwrapped when `show_secrets`, else each secret leaf "[secret]"; mappings
    with their keys sorted (a protobuf Struct's order varies from process to process, and the plan must not)."""
    if rpc.is_rpc_secret(value):
        inner = reveal(rpc.unwrap_rpc_secret(value), show_secrets)
        return inner if show_secrets else _redact(inner)
    if isinstance(value, dict):
        return {k: reveal(value[k], show_secrets) for k in sorted(value)}
    if isinstance(value, list):
        return [reveal(v, show_secrets) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


def _redact(value: Any) -> Any:
    """Keep a secret's shape (e.g. a Secret's keys) but none of its values."""
    if isinstance(value, dict):
        return {k: _redact(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return SECRET


def to_json(plan: Plan) -> dict[str, Any]:
    """The machine-readable plan; secret values are always "[secret]"."""
    return {
        "stack": plan.stack,
        "resources": [
            {"type": r.type, "name": r.name, "inputs": reveal(r.inputs),
             "depends_on": sorted(plan.name_of(u) for u in r.dependencies)}
            for r in plan.resources
        ],
        "outputs": reveal(plan.outputs),
    }


def kubernetes_manifest(reg: Registration, show_secrets: bool = False) -> dict[str, Any] | None:
    """The object a Kubernetes registration would apply (a Helm chart as chart/version/values), else None."""
    if not reg.type.startswith("kubernetes:") or (not reg.custom and "helm.sh" not in reg.type):
        return None
    inputs = reveal(reg.outputs, show_secrets)
    if "helm.sh" in reg.type:
        keys = ("name", "namespace", "chart", "version", "values")
        return {"helmChart": {k: inputs[k] for k in keys if k in inputs}}
    if "apiVersion" not in inputs or "kind" not in inputs:
        return None
    return {"apiVersion": inputs["apiVersion"], "kind": inputs["kind"],
            **{k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")}}


def render(plan: Plan, directory: Path, show_secrets: bool = False) -> list[Path]:
    """Write one YAML file per Kubernetes object into `directory`, a Helm chart's as `helm template` renders them.

    `directory` must be empty or new: a manifest left from an earlier render would be applied with the rest.
    Nothing is written unless every object rendered. Raises `HelmError` when helm is missing or the chart
    cannot be templated (see `offline.helm`), `OSError` when the directory cannot be written.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise OSError(f"{directory} is not an empty directory: render into a new one (an old manifest there "
                      "would be applied with the new ones)")
    objects: list[tuple[str, dict[str, Any]]] = []
    for reg in plan.resources:
        manifest = kubernetes_manifest(reg, show_secrets)
        if manifest is None:
            continue
        if "helmChart" in manifest:
            try:
                chart_objects = helm.render_release(manifest["helmChart"])
            except HelmError as error:
                raise HelmError(f"{error} (to render without a registry, point the chart's setting, e.g. "
                                "postgres_chart or linkerd_charts, at a local path)") from None
            objects += [(f"{obj['kind'].lower()}-{obj['metadata']['name']}", obj) for obj in chart_objects]
        else:
            objects.append((f"{manifest['kind'].lower()}-{reg.name}", manifest))
    if not objects:
        platform = next((v for k, v in plan.config.items() if k.endswith(":platform")), "?")
        raise pulumi.RunError(f"stack {plan.stack} (platform {platform}) creates no Kubernetes objects, so there is "
                              f"nothing to render into {directory}. Fix: render a stack of platform k8s or cluster, "
                              "e.g. --stack k8s.")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, obj in objects:
        path = directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=True))
        written.append(path)
    return written


def _summary(reg: Registration) -> str:
    inputs = reveal(reg.inputs)
    meta = inputs.get("metadata") or {}
    spec = inputs.get("spec") or {}
    bits = {
        "name": meta.get("name") or inputs.get("name"),
        "namespace": meta.get("namespace") or inputs.get("namespace"),
        "chart": inputs.get("chart"), "version": inputs.get("version"), "image": inputs.get("imageName"),
        "replicas": spec.get("replicas"), "hostname": spec.get("hostname"), "service": spec.get("service"),
    }
    return ", ".join(f"{k}={v}" for k, v in bits.items() if v not in (None, ""))


def tree(plan: Plan) -> str:
    """A readable tree of resources (parents above children) and the stack outputs."""
    children: dict[str, list[Registration]] = {}
    for reg in plan.resources:
        children.setdefault(reg.parent, []).append(reg)
    lines = [f"Stack {plan.stack}: {len(plan.resources)} resources"]

    def walk(parent: str, depth: int) -> None:
        for reg in children.get(parent, []):
            summary = _summary(reg)
            lines.append(f"{'  ' * depth}+ {reg.type}  {reg.name}" + (f"  ({summary})" if summary else ""))
            walk(reg.urn, depth + 1)

    top = {r.urn for r in plan.resources}
    for parent in [p for p in children if p not in top]:
        walk(parent, 1)
    lines.append("Outputs:")
    lines += [f"  {k}: {_one_line(v)}" for k, v in reveal(plan.outputs).items()]
    return "\n".join(lines)


_PEM = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----\n", re.MULTILINE)


def _one_line(value: Any) -> str:
    """An output as one line of the tree: a PEM block by what it is (`--json` prints it whole)."""
    if not isinstance(value, str) or "\n" not in value.strip():
        return str(value)
    pem = _PEM.match(value)
    if pem is None:
        return f"{value.strip().splitlines()[0]} … ({len(value.strip().splitlines())} lines; --json prints them all)"
    about = ""
    if pem[1] == "CERTIFICATE":
        cert = x509.load_pem_x509_certificate(value.encode())
        about = f" of {cert.subject.rfc4514_string()}, valid until {cert.not_valid_after_utc:%Y-%m-%d}"
    return f"a PEM {pem[1].lower()}{about} (--json prints it)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key as written in the stack file (repeatable)")
    parser.add_argument("--secret-config", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key as `pulumi config set --secret` sets it (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--render", type=Path, metavar="DIR",
                        help="write every Kubernetes object as YAML into DIR, the chart's objects included")
    parser.add_argument("--show-secrets", action="store_true", help="write secret values into rendered files")
    args = parser.parse_args(argv)
    try:
        plan = run(args.stack, args.config, args.secret_config, name_options=True)
        if args.render:
            files = render(plan, args.render, args.show_secrets)
            print(f"wrote {len(files)} manifests to {args.render}", file=sys.stderr)
    except (pulumi.RunError, HelmError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(to_json(plan), indent=2) if args.json else tree(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
