"""Session fixtures of the public apps' container checks: a node stand-in base, each app's image built once, and
real PostgreSQL servers as each platform provides them."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devenv.postgres import _installed_bin_dir
from tests import containers
from tests.public_apps import NODE_IMAGE_ARG, app_dir

# The stand-in for `node:22-trixie-slim`, which carries node and yarn 1 (the official image installs yarn 1.22.22
# from its release tarball): Debian trixie's nodejs (20, not 22) and yarn 1.22.22 from the npm registry, linked
# where the official image links it. Debian's npm and yarnpkg packages would add ~400 MB (node-gyp, a compiler).
NODE_BASE = "localhost/paasport-node-base:trixie-yarn1.22.22"
YARN = "yarn@1.22.22"
YARN_SHA256 = "c17d3797fb9a9115bf375e31bfd30058cac6bc9c3b8807a3d8cb2094794b51ca"  # its npm tarball


def ensure_node_base() -> str:
    """The node stand-in base (mmdebstrap on first use, ~30 s); its reference."""
    with containers._locked("node-base"):
        if containers.image_exists(NODE_BASE):
            return NODE_BASE
        if shutil.which("npm") is None:
            pytest.skip("needs npm to fetch yarn 1 for the node base image: sudo apt-get install npm")
        with tempfile.TemporaryDirectory(prefix="paasport-node-base-") as work:
            subprocess.run(["npm", "pack", "--silent", YARN], cwd=work, check=True, capture_output=True, timeout=300)
            [tarball] = Path(work).glob("yarn-*.tgz")
            digest = subprocess.run(["sha256sum", str(tarball)], check=True, capture_output=True, text=True)
            assert digest.stdout.split()[0] == YARN_SHA256, f"{YARN} from the registry is not the pinned tarball"
            rootfs = Path(work) / "rootfs.tar"
            hook = (f'mkdir -p "$1/opt/yarn-v1.22.22" && tar -xzf {tarball} --strip-components=1 '
                    '-C "$1/opt/yarn-v1.22.22" && ln -s /opt/yarn-v1.22.22/bin/yarn "$1/usr/local/bin/yarn"')
            subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--include=nodejs,ca-certificates",
                            f"--customize-hook={hook}", "trixie", str(rootfs)],
                           check=True, capture_output=True, timeout=900)
            containers.podman("import", "--change", 'CMD ["node"]', "--change", "ENV LANG=C.UTF-8", str(rootfs),
                              NODE_BASE)
    return NODE_BASE


@pytest.fixture(scope="module")
def app_image() -> Callable[[str], containers.Image]:
    """Build one public app's image (once per module) with its own Dockerfile, on the local stand-in bases."""
    built: dict[str, containers.Image] = {}

    def build(name: str) -> containers.Image:
        containers.require_tools()
        if name not in built:
            dockerfile = (app_dir(name) / "Dockerfile").read_text()
            args = {NODE_IMAGE_ARG: ensure_node_base()} if f"ARG {NODE_IMAGE_ARG}" in dockerfile else {}
            built[name] = containers.build_image(app_dir(name), f"localhost/paasport-public-{name}:test",
                                                 build_args=args)
        return built[name]

    return build


def _server(tls: bool) -> Iterator[containers.PostgresServer]:
    containers.require_tools()
    # pgserver's wheel is built without OpenSSL ("SSL is not supported by this build"): TLS needs an installed server.
    binaries = _installed_bin_dir() if tls else None
    if tls and binaries is None:
        pytest.skip("needs an installed PostgreSQL built with OpenSSL for TLS: sudo apt-get install postgresql")
    with containers.postgres_on_host(tls=tls, binaries=binaries) as server:
        yield server


@pytest.fixture(scope="package")
def heroku_postgres() -> Iterator[containers.PostgresServer]:
    """A real PostgreSQL that refuses all but TLS, as Heroku Postgres does."""
    yield from _server(tls=True)


@pytest.fixture(scope="package")
def cluster_postgres() -> Iterator[Callable[[bool], containers.PostgresServer]]:
    """A real PostgreSQL as the k8s stack's chart serves it: with TLS only where the chart's values turn it on."""
    servers: dict[bool, containers.PostgresServer] = {}
    stacks = []

    def get(tls: bool) -> containers.PostgresServer:
        if tls not in servers:
            generator = _server(tls)
            servers[tls] = next(generator)
            stacks.append(generator)
        return servers[tls]

    yield get
    for generator in stacks:
        generator.close()
