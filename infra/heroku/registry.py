"""Deploy mode `registry`: the original's `heroku container:push web release` + `heroku container:release`.

The web image is app/'s Dockerfile; the release image is the same image with the release command of
app/heroku.yml as its CMD (Heroku runs a `release` image's CMD as the release phase). Both are pushed to
registry.heroku.com/<app>/<process> (user `_`, the API key as password) and released through the Platform API.
"""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi.dynamic
import pulumi_docker as docker

from infra import contract
from infra.heroku.release_api import API_URL, REGISTRY_URL, ContainerReleaseProvider
from infra.heroku.source import archive_bytes
from infra.paths import cache_dir, context

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
    """Builds, pushes and releases the web and release images, after `after` (the Postgres add-on)."""

    def __init__(
        self,
        name: str,
        *,
        app_name: pulumi.Input[str],
        api_key: pulumi.Input[str] | None,
        spec: contract.AppSpec,
        after: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("paasport:heroku_registry:RegistryRelease", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = pulumi.Output.secret(api_key if api_key is not None else "")
        auth = docker.RegistryImageAuthConfigArgs(address=REGISTRY, username="_", password=key)
        # The release image's Dockerfile, written where build artefacts go (the user's cache), never the checkout.
        release_dir = cache_dir("heroku", f"{name}-release")
        if spec.release:
            (release_dir / "Dockerfile").write_text(release_dockerfile(spec.release))
        source_hash = hashlib.sha256(archive_bytes(spec.directory)).hexdigest()

        def tag(process: str) -> pulumi.Output[str]:
            return pulumi.Output.concat(REGISTRY, "/", app_name, "/", process, ":latest")

        web = docker.RemoteImage(
            f"{name}-web",
            name=tag("web"),
            build=docker.RemoteImageBuildArgs(context=context(spec.directory), dockerfile="Dockerfile",
                                              platform=PLATFORM),
            platform=PLATFORM,
            keep_locally=True,
            triggers={"source": source_hash},
            opts=child,
        )
        images = {"web": web}
        if spec.release:
            images["release"] = docker.RemoteImage(
                f"{name}-release",
                name=tag("release"),
                build=docker.RemoteImageBuildArgs(context=str(release_dir), dockerfile="Dockerfile", platform=PLATFORM,
                                                  build_args={"WEB_IMAGE": web.name}),
                platform=PLATFORM,
                keep_locally=True,
                triggers={"web": web.image_id},
                opts=child,
            )
        pushed = {
            process: docker.RegistryImage(f"{name}-{process}-push", name=image.name, auth_config=auth,
                                          keep_remotely=True, triggers={"image_id": image.image_id}, opts=child)
            for process, image in images.items()
        }
        # The digests of the manifests just pushed (RegistryImage.sha256_digest): the release reads the config
        # digest Heroku wants from exactly these, not the local image id (which differs on containerd's store).
        self.release = ContainerRelease(
            name,
            app=app_name,
            manifests={process: push.sha256_digest for process, push in pushed.items()},
            api_key=key,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*pushed.values(), *after]),
        )
        self.web_image_id: pulumi.Output[str] = web.image_id
        self.release_id: pulumi.Output[str] = self.release.release_id
        self.register_outputs({"web_image_id": self.web_image_id, "release_id": self.release_id})
