"""The app's container image: built from the app's directory (`app_dir`) and pushed with pulumi-docker-build, or
a prebuilt reference as given.

pulumi-docker-build (buildx and BuildKit) builds on both of Docker's image stores; pulumi-docker's `Image`, used
before, fails to build on the containerd image store that current Docker installs turn on (pulumi/pulumi-docker#967),
which is why the heroku stack's registry mode moved first (infra/heroku/registry.py)."""

from __future__ import annotations

import json

import pulumi
import pulumi_docker_build as docker_build
import pulumi_kubernetes as k8s

from infra.paths import context
from infra.settings import AppSettings

PLATFORM = "linux/amd64"


def pushed_digest(image: docker_build.Image) -> pulumi.Output[str]:
    """The digest `pulumi up` pushes, unknown until then: with `build_on_preview` off the provider builds nothing
    at preview and reports no digest (pulumi-docker-build image.go, Image.Create), so a preview shows the image
    as to be decided, never a digest that up would not deploy."""
    return image.digest.apply(lambda digest: digest or pulumi.UNKNOWN)


def registry_server(registry: str) -> str:
    """The host part of a repository prefix (`ghcr.io/acme` -> `ghcr.io`); Docker Hub when there is none."""
    first = registry.split("/", 1)[0]
    return first if "." in first or ":" in first or first == "localhost" else "docker.io"


class AppImage(pulumi.ComponentResource):
    """`ref` is the image to run: the pushed build's digest (a new build rolls the app) or the prebuilt `image`;
    a build is `<registry>/<app_name>`."""

    def __init__(self, name: str, *, app_name: str, namespace: pulumi.Input[str], app: AppSettings,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:image:AppImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        image, registry, username, password = app.image, app.registry, app.registry_username, app.registry_password
        server = registry_server(image or registry)
        app_context = context(app.contract.directory) if app.contract else ""
        if image:
            self.ref: pulumi.Output[str] = pulumi.Output.from_input(image)
        else:
            credentials = (
                [docker_build.RegistryArgs(address=server, username=username, password=password)]
                if username and password is not None else None
            )
            repository = f"{registry}/{app_name}"
            built = docker_build.Image(
                name,
                tags=[f"{repository}:latest"],
                push=True,
                context=docker_build.BuildContextArgs(location=app_context),
                dockerfile=docker_build.DockerfileArgs(location=f"{app_context}/Dockerfile"),
                platforms=[docker_build.Platform(PLATFORM)],
                registries=credentials,
                # A preview builds nothing: an image built then is never pushed, and its digest is not the one up
                # pushes (the provider still asks Docker for BuildKit: docs/kubernetes.md, Prerequisites).
                build_on_preview=False,
                opts=child,
            )
            # What pulumi-docker's `repo_digest` was: the repository at the digest the registry now holds (the
            # pushed manifest or index), so a new build rolls the app and names a new release Job.
            self.ref = pulumi.Output.concat(repository, "@", pushed_digest(built))
        self.pull_secret_name: pulumi.Output[str] | None = None
        self.pull_secret_contents: pulumi.Output[str] | None = None
        if username and password is not None:
            dockerconfig = pulumi.Output.secret(password).apply(
                lambda pw: json.dumps({"auths": {server: {"username": username, "password": pw}}})
            )
            pull_secret = k8s.core.v1.Secret(
                f"{name}-registry",
                metadata={"name": f"{app_name}-registry", "namespace": namespace},
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": dockerconfig},
                opts=child,
            )
            self.pull_secret_name = pull_secret.metadata.name
            self.pull_secret_contents = dockerconfig
        self.register_outputs({"ref": self.ref, "pull_secret_name": self.pull_secret_name})
