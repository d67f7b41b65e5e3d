"""The app's container image: built from app/ and pushed with pulumi_docker, or a prebuilt reference as given."""

from __future__ import annotations

import json

import pulumi
import pulumi_docker as docker
import pulumi_kubernetes as k8s

# Relative to the project root, where `pulumi up` runs the program.
CONTEXT = "app"


def registry_server(registry: str) -> str:
    """The host part of a repository prefix (`ghcr.io/acme` -> `ghcr.io`); Docker Hub when there is none."""
    first = registry.split("/", 1)[0]
    return first if "." in first or ":" in first or first == "localhost" else "docker.io"


class AppImage(pulumi.ComponentResource):
    """`ref` is the image to run: the pushed build's digest (a new build rolls the app) or the prebuilt `image`."""

    def __init__(
        self,
        name: str,
        *,
        namespace: pulumi.Input[str],
        image: str = "",
        registry: str = "",
        username: str = "",
        password: pulumi.Input[str] | None = None,
        platform: str = "linux/amd64",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:image:AppImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        server = registry_server(image or registry)
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
                build=docker.DockerBuildArgs(context=CONTEXT, dockerfile=f"{CONTEXT}/Dockerfile", platform=platform),
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
