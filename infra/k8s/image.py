"""The app's container image: built from the app's directory (`app_dir`) and pushed with pulumi_docker, or a
prebuilt reference as given."""

from __future__ import annotations

import json

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s

from infra.paths import context
from infra.settings import AppSettings

PLATFORM = "linux/amd64"


def registry_server(registry: str) -> str:
    """The host part of a repository prefix (`ghcr.io/acme` -> `ghcr.io`); Docker Hub when there is none."""
    first = registry.split("/", 1)[0]
    return first if "." in first or ":" in first or first == "localhost" else "docker.io"


class AppImage(pulumi.ComponentResource):
    """`ref` is the image to run: the pushed build's digest (a new build rolls the app) or the prebuilt `image`."""

    def __init__(self, name: str, *, namespace: pulumi.Input[str], app: AppSettings,
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
                docker.RegistryArgs(server=server, username=username, password=password)
                if username and password is not None else None
            )
            built = docker.Image(
                name,
                image_name=f"{registry}/{name}:latest",
                build=docker.DockerBuildArgs(context=app_context, dockerfile=f"{app_context}/Dockerfile",
                                             platform=PLATFORM),
                registry=credentials,
                opts=child,
            )
            self.ref = built.repo_digest
        self.pull_secret_name: pulumi.Output[str] | None = None
        if username and password is not None:
            dockerconfig = pulumi.Output.secret(password).apply(
                lambda pw: json.dumps({"auths": {server: {"username": username, "password": pw}}})
            )
            pull_secret = k8s.core.v1.Secret(
                f"{name}-registry",
                metadata={"name": f"{name}-registry", "namespace": namespace},
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": dockerconfig},
                opts=child,
            )
            self.pull_secret_name = pull_secret.metadata.name
        self.register_outputs({"ref": self.ref, "pull_secret_name": self.pull_secret_name})
