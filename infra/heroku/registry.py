"""Deploy mode `registry`: the original's `heroku container:push web release` + `heroku container:release`.

The web image is the app's Dockerfile; the release image is the same image with the Procfile's release command
as its CMD (Heroku runs a `release` image's CMD as the release phase). Both are pushed to
registry.heroku.com/<app>/<process> (user `_`, the API key as password) and released through the Platform API.
"""

from __future__ import annotations

import json

import pulumi
import pulumi.dynamic
import pulumi_docker_build as docker_build

from infra import contract
from infra.heroku.release_api import API_URL, REGISTRY_URL, ContainerReleaseProvider
from infra.k8s.image import pushed_digest
from infra.paths import context

REGISTRY = "registry.heroku.com"
PLATFORM = "linux/amd64"


def release_dockerfile(command: str) -> str:
    """A Dockerfile that runs the Procfile's release command on top of the web image (build arg WEB_IMAGE)."""
    return f"ARG WEB_IMAGE\nFROM ${{WEB_IMAGE}}\nCMD {json.dumps(contract.argv(command))}\n"


class ContainerRelease(pulumi.dynamic.Resource, module="heroku", name="ContainerRelease"):
    """Releases the pushed `manifests` ({process type: manifest digest}) on `app`: each as the config digest the
    registry holds for it (`images`, what Heroku is sent); fails with Heroku's message if the release does."""

    images: pulumi.Output[dict[str, str]]
    release_id: pulumi.Output[str]
    release_version: pulumi.Output[int]

    def __init__(self, name: str, *, app: pulumi.Input[str], manifests: pulumi.Input[dict[str, str]],
                 api_key: pulumi.Input[str], api_url: str = API_URL, registry_url: str = REGISTRY_URL,
                 platform: str = PLATFORM, timeout_seconds: int = 1800,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props = {"app": app, "manifests": manifests, "api_key": pulumi.Output.secret(api_key), "api_url": api_url,
                 "registry_url": registry_url, "platform": platform, "timeout_seconds": timeout_seconds,
                 "images": None, "release_id": None, "release_version": None}
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["api_key"]))
        super().__init__(ContainerReleaseProvider(), name, props, opts)


class RegistryRelease(pulumi.ComponentResource):
    """Builds, pushes and releases the web and release images, after `after` (the Postgres add-on).

    The images are built and pushed by pulumi-docker-build (buildx and BuildKit), which works on both of Docker's
    image stores. pulumi-docker's `RemoteImage.build`, used before, needs the containerd image store off
    (pulumi-docker `sdk/python/pulumi_docker/remote_image.py`, `build`: "Requires the `Use containerd for pulling
    and storing images` option to be disabled", kreuzwerker/terraform-provider-docker#534), and current Docker
    installs have it on. Each image's `digest` is the manifest (or index) the registry now holds; the release
    reads Heroku's config digest from exactly that.
    """

    def __init__(
        self,
        name: str,
        *,
        app_name: pulumi.Input[str],
        spec: contract.AppSpec,
        api_key: pulumi.Input[str] | None,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_registry:RegistryRelease", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = pulumi.Output.secret(api_key if api_key is not None else "")
        registries = [docker_build.RegistryArgs(address=REGISTRY, username="_", password=key)]
        app_context = context(spec.directory)  # ../app: the same path on every machine, as the engine stores it

        def image(process: str, dockerfile: docker_build.DockerfileArgs,
                  build_args: dict[str, pulumi.Input[str]] | None = None) -> docker_build.Image:
            return docker_build.Image(
                f"{name}-{process}",
                tags=[pulumi.Output.concat(REGISTRY, "/", app_name, "/", process, ":latest")],
                push=True,
                context=docker_build.BuildContextArgs(location=app_context),
                dockerfile=dockerfile,
                build_args=build_args,
                platforms=[docker_build.Platform(PLATFORM)],
                registries=registries,
                # Nothing is built at preview: an image built then is never pushed, so the release image must not
                # be built FROM its digest (pulumi-docker-build image.go, Create: `shouldBuildOnPreview`).
                build_on_preview=False,
                opts=child,
            )

        images = {"web": image("web", docker_build.DockerfileArgs(location=f"{app_context}/Dockerfile"))}
        if spec.release:
            # FROM the web image as pushed (`ref`: tag@digest), which BuildKit pulls with the same credentials. The
            # Dockerfile is inline and the context the app's: an input that does not depend on the machine, where
            # a file under the user's cache made every other machine (CI, a teammate) rebuild and re-release.
            images["release"] = image("release", docker_build.DockerfileArgs(inline=release_dockerfile(spec.release)),
                                      {"WEB_IMAGE": images["web"].ref})
        self.release = ContainerRelease(
            name,
            app=app_name,
            manifests={process: pushed_digest(built) for process, built in images.items()},
            api_key=key,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*images.values(), *after]),
        )
        # The image id Heroku runs for web: the config digest the release sent.
        self.web_image_id: pulumi.Output[str] = self.release.images.apply(lambda images: images["web"])
        self.release_id: pulumi.Output[str] = self.release.release_id
        self.register_outputs({"web_image_id": self.web_image_id, "release_id": self.release_id})
