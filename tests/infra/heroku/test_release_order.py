"""The order of the Heroku stack in the offline plan: release phase before scaling, formation before ACM.

offline/plan.py runs the program under Pulumi's mocks; each registration has its inputs, outputs and the URNs it
depends on, which are the edges the engine orders creation and updates by.
"""

from __future__ import annotations

import pytest

from offline.plan import Plan, Registration, run

STACK = "urn:pulumi:heroku::paasport::"
APP = STACK + "paasport:heroku_app:HerokuApp$heroku:app/app:App::paasport"
BUILD = STACK + "paasport:heroku_build:HerokuBuild$heroku:build/build:Build::paasport"
BUILD_RELEASE = STACK + "paasport:heroku_build:HerokuBuild$pulumi-python:dynamic/heroku:BuildRelease::paasport-release"
CONTAINER_RELEASE = (STACK + "paasport:heroku_registry:RegistryRelease$pulumi-python:dynamic/heroku:ContainerRelease"
                     "::paasport")
FORMATION = STACK + "paasport:heroku_formation:WebFormation$heroku:formation/formation:Formation::paasport-web"
DOMAIN = STACK + "paasport:heroku_domain:CustomDomain$heroku:domain/domain:Domain::paasport"
ACM = STACK + "paasport:heroku_domain:CustomDomain$pulumi-python:dynamic/heroku:AppAcm::paasport-acm"
WEB_PUSH = STACK + "paasport:heroku_registry:RegistryRelease$docker-build:index:Image::paasport-web"
RELEASE_PUSH = STACK + "paasport:heroku_registry:RegistryRelease$docker-build:index:Image::paasport-release"


@pytest.fixture(scope="module")
def build_plan() -> Plan:
    return run("heroku", [])  # Pulumi.heroku.yaml: deploy build, domain paasport.example.com, basic dyno


@pytest.fixture(scope="module")
def registry_plan() -> Plan:
    return run("heroku", ["deploy=registry"])


def at(plan: Plan, urn: str) -> Registration:
    (found,) = [r for r in plan.resources if r.urn == urn]
    return found


def test_existing_resources_keep_their_urns(build_plan, registry_plan):
    for urn in (APP, BUILD, FORMATION, DOMAIN):
        at(build_plan, urn)
    for urn in (CONTAINER_RELEASE, FORMATION, WEB_PUSH, RELEASE_PUSH):
        at(registry_plan, urn)


def test_the_formation_scales_only_after_the_build_s_release_phase_succeeded(build_plan):
    waiter = at(build_plan, BUILD_RELEASE)
    assert waiter.parent == STACK + "paasport:heroku_build:HerokuBuild::paasport"
    assert BUILD in waiter.dependencies
    assert waiter.inputs["release_id"] == at(build_plan, BUILD).outputs["releaseId"]
    assert waiter.inputs["app"] == "paasport-example"
    assert BUILD_RELEASE in at(build_plan, FORMATION).dependencies


def test_in_registry_mode_the_formation_waits_for_the_release_of_the_pushed_manifests(registry_plan):
    assert CONTAINER_RELEASE in at(registry_plan, FORMATION).dependencies
    release = at(registry_plan, CONTAINER_RELEASE)
    assert release.inputs["manifests"] == {"web": at(registry_plan, WEB_PUSH).outputs["digest"],
                                           "release": at(registry_plan, RELEASE_PUSH).outputs["digest"]}
    assert {WEB_PUSH, RELEASE_PUSH} <= set(release.dependencies)
    assert "images" not in {k for k, v in release.inputs.items() if v is not None}  # no local image ids sent


@pytest.mark.parametrize("plan_name", ["build_plan", "registry_plan"])
def test_acm_is_enabled_after_the_formation_and_the_domain_not_on_the_app(request, plan_name):
    plan = request.getfixturevalue(plan_name)
    assert at(plan, APP).inputs["acm"] is False
    acm = at(plan, ACM)
    assert FORMATION in acm.dependencies
    assert DOMAIN in acm.dependencies
    assert acm.inputs["app"] == "paasport-example"


def test_without_a_domain_there_is_no_acm_step():
    plan = run("heroku", ["domain="])
    assert at(plan, APP).inputs["acm"] is False
    assert not [r for r in plan.resources if r.type == "pulumi-python:dynamic/heroku:AppAcm"]
