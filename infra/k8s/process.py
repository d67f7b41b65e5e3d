"""How the app's processes run in their pods: as which user (the image's own `USER`), and what the kubelet's SIGTERM
reaches first (a package manager as the container's first process).

The user. The pods run as the Dockerfile's `USER` when it is a non-root number (`USER 1000:1000`), so an app that
writes to its own user's files works as under Docker. `runAsUser` is that UID; `runAsGroup` and `fsGroup` the GID
when the USER gives one; without one, `runAsGroup` is left out and the runtime picks the group as Docker does, from
the image's /etc/passwd (containerd `internal/cri` generateUserString passes `uid` alone, which oci.WithUser looks
up; CRI-O likewise sets the GID from /etc/passwd unless RunAsGroup is set). Anything else runs as UID and GID 10001
(`DEFAULT_UID`), with a warning at preview: a named user, because Kubernetes refuses to start a container under
`runAsNonRoot` whose image user is not numeric, as it cannot tell that the name is not root ("container has
runAsNonRoot and image has non-numeric user ... cannot verify user is non-root": kubernetes
pkg/kubelet/kuberuntime/security_context_others.go, verifyRunAsNonRoot), and the stack builds the image at `pulumi
up` only, so it cannot read the name's number at preview; root, which the namespace's `restricted` Pod Security
refuses. A USER below 10000 is kept, and reported: such a UID may be a node's own user's (Checkov CKV_K8S_40).
Heroku runs dynos as a non-root user of its own: "we also run your container as a non-root user (although we do
not use the USER specified in the Dockerfile)" (devcenter.heroku.com/articles/container-registry-and-runtime).

The first process. The kubelet sends SIGTERM to the container's first process only. A Procfile command `npm start`
(or `npm run <script>`) makes npm that process: npm passes SIGTERM on to the script and, once the script has ended
by the signal, signals itself to exit the same way (npm/run-script lib/signal-manager.js, lib/run-script-pkg.js),
which a container's first process does not die of (the kernel ignores a signal that PID 1 has no handler for), so
500 ms later npm exits 1, logging the error `signal SIGTERM` (`npm ERR!` before npm 10, `npm error` since); it
also writes its log under $HOME/.npm. `yarn start`
(yarn 1) is worse: at SIGTERM yarn passes it on and exits at once (yarnpkg/yarn src/util/signal-handler.js, exit
code 1), which ends the container and kills the app before it finishes a request. Heroku's dyno manager sends SIGTERM
to every process of the dyno (devcenter.heroku.com/articles/dynos#shutdown), so there the app hears it either way.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from infra import contract
from infra.contract import AppSpec, Process
from infra.k8s.workload import APP_UID as DEFAULT_UID

HIGH_UID = 10000  # Checkov CKV_K8S_40: "Containers should run as a high UID to avoid host conflict"
_NUMERIC = re.compile(r"^([0-9]+)(?::([0-9]+))?$")
PACKAGE_MANAGERS = ("npm", "yarn")  # whose signal handling is read above; not pnpm's


@dataclass(frozen=True)
class RunAs:
    """The user and group of the app's containers; `gid` None: the image's group for `uid`, as Docker picks it."""

    uid: int
    gid: int | None
    kept: bool  # the Dockerfile's own USER (else DEFAULT_UID)

    @property
    def ids(self) -> tuple[int, int | None]:
        return self.uid, self.gid


def run_as(spec: AppSpec) -> RunAs:
    """The Dockerfile's USER when it is a non-root number, else DEFAULT_UID:DEFAULT_UID."""
    match = _NUMERIC.match(spec.user)
    if match and int(match.group(1)) != 0:
        return RunAs(int(match.group(1)), int(match.group(2)) if match.group(2) else None, kept=True)
    return RunAs(DEFAULT_UID, DEFAULT_UID, kept=False)


def user_warning(spec: AppSpec) -> str | None:
    """What preview says about the Dockerfile's USER on k8s, when the pods do not simply keep a high one."""
    where, user = f"{spec.shown}/Dockerfile USER {spec.user}", spec.user
    if not user:
        return None
    runs = run_as(spec)
    if runs.kept:
        if runs.uid >= HIGH_UID:
            return None
        return (f"{where}: the k8s pods keep it, though UID {runs.uid} is below {HIGH_UID}, where it may be a user "
                f"of the node's own (Checkov CKV_K8S_40; the parity table says so too). For the hardened default, "
                f"give the app's user a UID of {HIGH_UID} or more.")
    name = user.split(":", 1)[0]
    if name in ("0", "root"):
        return (f"{where}: the k8s pods run as UID {DEFAULT_UID} (GID {DEFAULT_UID}) instead, as the namespace's "
                f"restricted Pod Security refuses root; files only root may write are read-only to the app there. "
                f"Fix: a non-root USER by number, e.g. `USER {DEFAULT_UID}:{DEFAULT_UID}` after a chown of what the "
                f"app writes.")
    return (f"{where}: the k8s pods run as UID {DEFAULT_UID} (GID {DEFAULT_UID}) instead: Kubernetes starts no "
            f"container under runAsNonRoot whose user is a name, which it cannot tell from root, and the image is "
            f"built at `pulumi up`, after preview, so its /etc/passwd cannot give the number. Files the image gives "
            f"{name} alone are read-only to the app there. Fix: write the user's numbers, `USER <uid>:<gid>` "
            f"(`id {name}` in the image prints them), which the pods then keep.")


@dataclass(frozen=True)
class PackageManagerStart:
    """A process command that makes a package manager the container's first process."""

    tool: str  # npm or yarn
    script: str  # the package.json script it runs
    runs: str  # that script's command, "" when package.json does not say


def package_manager_start(spec: AppSpec, process: Process) -> PackageManagerStart | None:
    """`process`'s command when it is `<npm|yarn> [run] <script>` run as the first process (no init such
    as tini in the image's ENTRYPOINT); the script's command from the app's package.json."""
    try:
        words = shlex.split(process.command)
    except ValueError:
        return None
    if len(words) < 2 or words[0] not in PACKAGE_MANAGERS or _has_init(spec):
        return None
    script = words[2] if words[1] in ("run", "run-script") and len(words) > 2 else words[1]
    if words[0] != "yarn" and words[1] not in ("start", "run", "run-script"):
        return None
    scripts = contract.package_json(spec.directory).get("scripts")
    runs = scripts.get(script) if isinstance(scripts, dict) else None
    return PackageManagerStart(words[0], script, runs if isinstance(runs, str) else "")


def _has_init(spec: AppSpec) -> bool:
    entrypoints = [line for line in contract.dockerfile_lines(spec.directory)
                   if line.strip().upper().startswith("ENTRYPOINT")]
    return bool(entrypoints) and re.search(r"\b(tini|dumb-init)\b", entrypoints[-1]) is not None


def stop_problem(start: PackageManagerStart) -> str:
    """What SIGTERM does to a process started by `start`'s package manager as the container's first process."""
    if start.tool == "yarn":
        return ("yarn 1 passes SIGTERM on to the app and exits at once, which ends the container: the app is "
                "killed before it finishes its requests")
    return (f"{start.tool} passes SIGTERM on to the app, then exits 1 with the error `signal SIGTERM` when the app "
            "dies of it (the container's first process cannot die of the signal itself)")


def start_warning(spec: AppSpec, process: Process) -> str | None:
    """Preview's warning for a process started by a package manager as the container's first process."""
    start = package_manager_start(spec, process)
    if start is None:
        return None
    fix = f"`{process.name}: {start.runs}`" if start.runs else f"the command of package.json's {start.script} script"
    return (f"{spec.shown}/Procfile {process.name}: `{process.command}` makes {start.tool} the first process of the "
            f"k8s container, which alone gets the kubelet's SIGTERM: {stop_problem(start)}. Fix: run the server "
            f"itself, {fix}, with a SIGTERM handler that stops accepting and finishes the requests in flight.")
