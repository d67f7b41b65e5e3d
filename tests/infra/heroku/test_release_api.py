"""The project's own Heroku API code against the schema-checked loopback stand-in (standin.py, fixture `heroku`).

- the registry release (`ContainerReleaseProvider`): the config digest of each pushed manifest, read from the
  registry pinned by the push's digest, goes into the formation PATCH; then the new release is awaited;
- the build-release waiter (`BuildReleaseProvider`): the release a Heroku Build created is awaited;
- the ACM step (`AcmProvider`): POST /apps/{app}/acm once a paid dyno runs; delete sends DELETE.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from infra.heroku.release_api import (
    DOCKER_RELEASES,
    AcmProvider,
    BuildReleaseProvider,
    ContainerReleaseProvider,
    HerokuApiError,
)

APP = "acme-paasport"
KEY = "hrku-standin-key"
BASIC = "Basic Omhya3Utc3RhbmRpbi1rZXk="  # base64 of ":hrku-standin-key", as heroku container:release sends it
# The config digests registry.heroku.com holds for the pushed images: what Heroku must be sent.
WEB_CONFIG = "sha256:" + "a" * 64
RELEASE_CONFIG = "sha256:" + "b" * 64
# The local image ids (`docker inspect --format {{.Id}}`) on containerd's image store: the manifest's digest,
# not the config's; what RemoteImage.image_id holds there, and what the old code sent.
WEB_LOCAL_ID = "sha256:" + "c" * 64
OUTPUT = "https://release-output.heroku.com/streams/01234567-89ab-cdef-0123-456789abcdef"


@pytest.fixture(autouse=True)
def no_netrc(tmp_path, monkeypatch):
    """No ~/.netrc of the machine's: the key is only what a test gives."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)


def pushed(heroku) -> dict[str, str]:
    """Push web and release images; the manifests' digests, as RegistryImage.sha256_digest reports them."""
    return {"web": heroku.push("web", WEB_CONFIG), "release": heroku.push("release", RELEASE_CONFIG)}


def props(heroku, **changes: Any) -> dict[str, Any]:
    return {"app": APP, "api_key": KEY, "api_url": heroku.api_url, "registry_url": heroku.registry_url,
            "timeout_seconds": 10, "poll_seconds": 0, **changes}


def release_props(heroku, **changes: Any) -> dict[str, Any]:
    return props(heroku, manifests=pushed(heroku), **changes)


def requests_to(heroku, method: str, host: str = "api") -> list[dict[str, Any]]:
    return [r for r in heroku.requests if r["method"] == method and r["host"] == host]


# ---- the registry release


def test_the_release_sends_the_config_digests_the_registry_holds_and_waits_for_the_release(heroku):
    manifests = pushed(heroku)
    result = ContainerReleaseProvider().create(props(heroku, manifests=manifests))

    reads = requests_to(heroku, "GET", "registry")
    assert [r["path"] for r in reads] == [f"/v2/acme-paasport/release/manifests/{manifests['release']}",
                                          f"/v2/acme-paasport/web/manifests/{manifests['web']}"]
    assert all(r["headers"]["Authorization"] == BASIC for r in reads)
    assert all("application/vnd.docker.distribution.manifest.v2+json" in r["headers"]["Accept"] for r in reads)
    (patch,) = requests_to(heroku, "PATCH")
    assert patch["path"] == "/apps/acme-paasport/formation"
    assert patch["headers"]["Accept"] == "application/vnd.heroku+json; version=3.docker-releases" == DOCKER_RELEASES
    assert patch["headers"]["Authorization"] == "Bearer hrku-standin-key"
    assert patch["headers"]["Content-Type"] == "application/json"
    assert patch["body"] == {"updates": [
        {"type": "release", "docker_image": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
        {"type": "web", "docker_image": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
    ]}
    # The release (v2: v1 is the app's first) is the one awaited, through the releases list as the CLI reads it.
    assert result.id == "acme-paasport/00000000-04e1-ea5e-0000-000000000002"
    assert result.outs["release_id"] == "00000000-04e1-ea5e-0000-000000000002"
    assert result.outs["release_version"] == 2
    assert result.outs["images"] == {"web": WEB_CONFIG, "release": RELEASE_CONFIG}
    assert "api_key" not in result.outs
    gets = requests_to(heroku, "GET")
    assert [r["path"] for r in gets] == ["/apps/acme-paasport/releases"] * 2  # before the PATCH, then the new one
    assert all(r["headers"]["Range"] == "version ..; max=1, order=desc" for r in gets)
    assert all(r["headers"]["Accept"] == "application/vnd.heroku+json; version=3" for r in gets)


def test_the_local_image_id_is_not_what_heroku_releases(heroku):
    """The defect the release fixes: Heroku refuses an id the registry does not hold (422, Heroku's message)."""
    pushed(heroku)
    answer = httpx.patch(heroku.api_url + "/apps/acme-paasport/formation",
                         json={"updates": [{"type": "web", "docker_image": WEB_LOCAL_ID}]},
                         headers={"Accept": DOCKER_RELEASES, "Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 422
    assert answer.json() == {
        "id": "invalid_params",
        "message": f"Couldn't find the image {WEB_LOCAL_ID} in registry.heroku.com/acme-paasport/web."}


def test_an_index_from_a_containerd_push_releases_its_linux_amd64_image(heroku):
    manifests = {"web": heroku.push_index("web", WEB_CONFIG), "release": heroku.push("release", RELEASE_CONFIG)}
    outs = ContainerReleaseProvider().create(props(heroku, manifests=manifests)).outs
    assert outs["images"] == {"web": WEB_CONFIG, "release": RELEASE_CONFIG}
    web_reads = [r["path"] for r in requests_to(heroku, "GET", "registry") if "/web/" in r["path"]]
    assert len(web_reads) == 2 and web_reads[0] == f"/v2/acme-paasport/web/manifests/{manifests['web']}"


def test_a_manifest_that_is_not_the_pushed_digest_is_refused(heroku):
    manifests = pushed(heroku)
    heroku.manifests[(APP, "web", manifests["web"])] = heroku.manifests[(APP, "release", manifests["release"])]
    with pytest.raises(HerokuApiError, match=f"acme-paasport/web@{manifests['web']} arrived as "
                                             f"{manifests['release']}"):
        ContainerReleaseProvider().create(props(heroku, manifests=manifests))
    assert not requests_to(heroku, "PATCH")


def test_an_image_missing_from_the_registry_fails_before_releasing(heroku):
    missing = "sha256:" + "d" * 64
    with pytest.raises(HerokuApiError) as caught:
        ContainerReleaseProvider().create(props(heroku, manifests={"web": missing}))
    assert str(caught.value) == (
        "paasport container release (create): "
        f"Heroku registry GET {heroku.registry_url}/v2/acme-paasport/web/manifests/{missing} failed with 404 "
        "MANIFEST_UNKNOWN: manifest unknown (was acme-paasport/web pushed?)")
    assert not requests_to(heroku, "PATCH")


def test_the_registry_refuses_a_wrong_key(heroku):
    with pytest.raises(HerokuApiError, match="failed with 401 UNAUTHORIZED: authentication required "
                                             r"\(registry.heroku.com refused the API key\)"):
        ContainerReleaseProvider().create(release_props(heroku, api_key="hrku-wrong"))
    assert not requests_to(heroku, "PATCH")


def test_a_pending_release_phase_is_polled_until_it_succeeds(heroku):
    heroku.next_release_statuses = ["pending", "pending", "succeeded"]
    assert ContainerReleaseProvider().create(release_props(heroku)).outs["release_version"] == 2
    assert len(requests_to(heroku, "GET")) == 4  # before, pending, pending, succeeded


def test_a_failed_release_phase_fails_with_heroku_s_description_and_output(heroku):
    heroku.next_release_statuses = ["pending", "failed"]
    heroku.next_release_description = "Release command failed"
    heroku.next_release_output = OUTPUT
    with pytest.raises(HerokuApiError) as caught:
        ContainerReleaseProvider().create(release_props(heroku))
    assert str(caught.value) == (
        "paasport container release (create): "
        "Heroku release v2 of acme-paasport failed: Release command failed; its output: curl "
        "https://release-output.heroku.com/streams/01234567-89ab-cdef-0123-456789abcdef "
        "(or `heroku releases:output 2 --app acme-paasport`)")


@pytest.mark.parametrize(
    ("refusal", "says"),
    [
        ((422, "invalid_params", "Docker image is not a valid image for this app."), "registry.heroku.com"),
        ((403, "forbidden", "You do not have access to the app acme-paasport."), "permissions"),
    ],
)
def test_a_refused_release_surfaces_heroku_s_message(heroku, refusal, says):
    heroku.refuse[("formation", "Batch Update")] = refusal
    with pytest.raises(HerokuApiError) as caught:
        ContainerReleaseProvider().create(release_props(heroku))
    status, ident, message = refusal
    assert f"PATCH /apps/acme-paasport/formation failed with {status} {ident}: {message}" in str(caught.value)
    assert says in str(caught.value)
    assert KEY not in str(caught.value)


def test_update_releases_the_new_images_and_diff_sees_only_what_matters(heroku):
    provider = ContainerReleaseProvider()
    old = release_props(heroku)
    new_web = "sha256:" + "e" * 64
    new = props(heroku, manifests={**old["manifests"], "web": heroku.push("web", new_web)})
    assert not provider.diff("id", old, {**old, "api_key": "rotated"}).changes
    changed = provider.diff("id", old, new)
    assert changed.changes and not changed.replaces
    assert provider.diff("id", old, {**old, "app": "other-app"}).replaces == ["app"]
    outs = provider.update("id", old, new).outs
    assert outs["images"] == {"web": "sha256:" + "e" * 64, "release": RELEASE_CONFIG}
    assert outs["release_version"] == 2
    (patch,) = requests_to(heroku, "PATCH")
    assert {"type": "web", "docker_image": "sha256:" + "e" * 64} in patch["body"]["updates"]


# ---- the build's release


def test_the_build_s_release_is_awaited_until_its_release_phase_succeeds(heroku):
    built = heroku.add_release("pending", "pending", "succeeded", description="Deployed 1f2e3d4c")
    result = BuildReleaseProvider().create(props(heroku, release_id=built.id))
    assert heroku.calls() == [("GET", "/apps/acme-paasport/releases/00000000-04e1-ea5e-0000-000000000002")] * 3
    assert result.outs["release_id"] == "00000000-04e1-ea5e-0000-000000000002"
    assert result.outs["release_version"] == 2
    assert "api_key" not in result.outs


def test_a_failed_release_phase_fails_the_build_with_heroku_s_description_and_output(heroku):
    built = heroku.add_release("pending", "failed", description="Release command failed", output_stream_url=OUTPUT)
    with pytest.raises(HerokuApiError) as caught:
        BuildReleaseProvider().create(props(heroku, release_id=built.id))
    assert str(caught.value) == (
        "paasport build release (create): "
        "Heroku release v2 of acme-paasport failed: Release command failed; its output: curl "
        "https://release-output.heroku.com/streams/01234567-89ab-cdef-0123-456789abcdef "
        "(or `heroku releases:output 2 --app acme-paasport`)")


def test_a_release_still_pending_at_the_deadline_fails(heroku):
    built = heroku.add_release("pending")
    with pytest.raises(HerokuApiError, match=r"release of acme-paasport still pending after 0.2 s"):
        BuildReleaseProvider().create(props(heroku, release_id=built.id, timeout_seconds=0.2, poll_seconds=0.05))


def test_a_new_build_release_is_awaited_on_update(heroku):
    provider = BuildReleaseProvider()
    first = heroku.releases[0]
    second = heroku.add_release("pending", "succeeded")
    old, new = props(heroku, release_id=first.id), props(heroku, release_id=second.id)
    assert provider.diff("id", old, new).changes and not provider.diff("id", old, new).replaces
    assert not provider.diff("id", old, {**old, "api_key": "rotated"}).changes
    assert provider.update("id", old, new).outs["release_version"] == 2


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"api_key": "hrku-wrong"}, "failed with 401 unauthorized: Invalid credentials provided. (check the API key"),
        ({"app": "acme-other"}, "failed with 404 not_found: Couldn't find that app. (no such app for this API key"),
        ({"release_id": "01234567-89ab-cdef-0123-456789abcdef"}, "failed with 404 not_found: Couldn't find that "
                                                                  "release."),
    ],
)
def test_each_api_error_surfaces_heroku_s_message(heroku, changes, expected):
    with pytest.raises(HerokuApiError) as caught:
        BuildReleaseProvider().create(props(heroku, **{"release_id": heroku.releases[0].id, **changes}))
    assert expected in str(caught.value)
    assert "hrku-wrong" not in str(caught.value)


def test_a_missing_key_fails_before_calling_heroku(heroku):
    with pytest.raises(HerokuApiError, match="No Heroku API key"):
        BuildReleaseProvider().create(props(heroku, api_key="", release_id=heroku.releases[0].id))
    assert not heroku.requests


def test_without_a_configured_key_the_heroku_login_one_in_netrc_is_used(heroku, tmp_path):
    (tmp_path / ".netrc").write_text(f"machine 127.0.0.1\n  login ops@example.com\n  password {KEY}\n")
    (tmp_path / ".netrc").chmod(0o600)
    outs = BuildReleaseProvider().create(props(heroku, api_key="", release_id=heroku.releases[0].id)).outs
    assert outs["release_version"] == 1
    assert heroku.requests[0]["headers"]["Authorization"] == "Bearer hrku-standin-key"


# ---- ACM


def test_acm_is_enabled_once_a_paid_dyno_runs(heroku):
    heroku.formation["web"] = {"size": "basic", "quantity": 1}
    result = AcmProvider().create(props(heroku))
    assert heroku.calls() == [("GET", "/apps/acme-paasport"), ("POST", "/apps/acme-paasport/acm")]
    assert heroku.requests[1]["body"] is None
    assert heroku.acm is True
    assert result.id == "acme-paasport/acm" and result.outs["acm"] is True
    assert "api_key" not in result.outs


def test_acm_already_on_is_left_as_it_is(heroku):
    heroku.acm = True
    assert AcmProvider().create(props(heroku)).outs["acm"] is True
    assert heroku.calls() == [("GET", "/apps/acme-paasport")]


@pytest.mark.parametrize("formation", [{}, {"web": {"size": "basic", "quantity": 0}},
                                       {"web": {"size": "eco", "quantity": 1}}])
def test_acm_before_a_paid_dyno_runs_is_refused_with_heroku_s_message(heroku, formation):
    heroku.formation.update(formation)
    with pytest.raises(HerokuApiError) as caught:
        AcmProvider().create(props(heroku))
    assert str(caught.value) == (
        "paasport ACM (enable): "
        "Heroku API POST /apps/acme-paasport/acm failed with 422 invalid_params: Automated Certificate Management "
        "requires the app to run a dyno of a paid size (Basic or larger). (Heroku refused the change; for a "
        "release: are the images pushed to registry.heroku.com/<app>/<process>?)")
    assert heroku.acm is False


def test_deleting_the_acm_step_disables_acm_and_tolerates_a_deleted_app(heroku):
    heroku.acm = True
    AcmProvider().delete("acme-paasport/acm", props(heroku))
    assert heroku.calls() == [("DELETE", "/apps/acme-paasport/acm")]
    assert heroku.acm is False
    AcmProvider().delete("acme-gone/acm", props(heroku, app="acme-gone"))  # 404: nothing left to disable


def test_deleting_the_acm_step_uses_heroku_api_key_as_the_engine_passes_no_key(heroku, monkeypatch):
    """The engine calls delete with the saved outputs, which never hold the key: HEROKU_API_KEY supplies it."""
    heroku.acm = True
    outputs = {k: v for k, v in props(heroku).items() if k != "api_key"}
    monkeypatch.setenv("HEROKU_API_KEY", KEY)
    monkeypatch.setenv("HOME", "/nonexistent")  # no ~/.netrc to fall back on
    AcmProvider().delete("acme-paasport/acm", outputs)
    assert heroku.calls() == [("DELETE", "/apps/acme-paasport/acm")]
    assert heroku.acm is False


def test_acm_diff_replaces_only_for_another_app(heroku):
    provider, old = AcmProvider(), props(heroku)
    assert not provider.diff("id", old, {**old, "api_key": "rotated"}).changes
    assert provider.diff("id", old, {**old, "app": "acme-other"}).replaces == ["app"]


# ---- the stand-in holds requests to the schema


def _call(heroku, method: str, path: str, body: Any = None, accept: str = "application/vnd.heroku+json; version=3"):
    return httpx.request(method, heroku.api_url + path, content=json.dumps(body) if body is not None else None,
                         headers={"Accept": accept, "Authorization": f"Bearer {KEY}"}).status_code


def test_the_stand_in_fails_the_test_on_requests_the_schema_does_not_describe(heroku):
    assert _call(heroku, "GET", "/apps/acme-paasport/release") == 404
    assert _call(heroku, "PUT", "/apps/acme-paasport/acm") == 404
    assert _call(heroku, "POST", "/apps/acme-paasport/acm", body={"enabled": True}) == 422
    assert _call(heroku, "PATCH", "/apps/acme-paasport/formation",
                 body={"updates": [{"type": "web", "docker_image": WEB_CONFIG}]}) == 422  # without docker-releases
    assert _call(heroku, "PATCH", "/apps/acme-paasport/formation", accept=DOCKER_RELEASES,
                 body={"updates": [{"type": "web", "docker_image": "latest"}]}) == 422
    assert heroku.errors == [
        "no link of the schema is GET /apps/acme-paasport/release",
        "no link of the schema is PUT /apps/acme-paasport/acm",
        "POST /apps/acme-paasport/acm: this link takes no body",
        "PATCH /apps/acme-paasport/formation: updates/0: Additional properties are not allowed ('docker_image' was "
        "unexpected)",
        "PATCH /apps/acme-paasport/formation: updates/0/docker_image: 'latest' does not match "
        "'^sha256:[0-9a-f]{64}$'",
    ]
    heroku.errors.clear()  # this test made them on purpose
