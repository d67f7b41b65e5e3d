"""Every URN of both stacks, written out. A URN is a resource's identity in Pulumi's state: a changed URN (a new
name, type, parent or component type) makes `pulumi up` delete the old resource and create a new one, which for
the namespace, the database or the Heroku app means losing data. So any change fails here: the move of the program
into infra/k8s and infra/heroku (76a93db) kept every URN of before, listed in BEFORE as 6dc0f7d registered them.

These are the URNs users' states hold: the engine puts a parent's type before a child's, except the root stack's
(pulumi/pulumi `pkg/resource/deploy/deployment.go`, generateURN), so a top-level component is
`urn:pulumi:k8s::paasport::paasport:web:WebApp::paasport`; offline.plan makes them the same way (Pulumi's stock
mock monitor would put `pulumi:pulumi:Stack$` in front, a URN no state has).

No `pulumi.Alias` is needed: nothing was renamed. Were one ever needed, the alias maps the old URN, and this list
shows which.
"""

from __future__ import annotations

import json

import pytest

from offline import plan as offline_plan
from tests import support

K8S = "urn:pulumi:k8s::paasport::"
HEROKU = "urn:pulumi:heroku::paasport::"
_DRAIN = "paasport:log_drain_url=syslog+tls://logs.example.com:6514"
# The stacks in every shape whose URNs differ: Pulumi.k8s.yaml as committed, with every optional object, without
# the autoscaler; Pulumi.heroku.yaml with a log drain and preboot, in both deploy modes.
CASES = {
    "k8s": ("k8s", ()),
    "k8s-full": ("k8s", ("tls_issuer=", "acme_email=ops@example.com", "registry_username=u", "registry_password=p",
                         "postgres_metrics=true", "backup_enabled=true")),
    "k8s-hpa-off": ("k8s", ("hpa_enabled=false",)),
    "heroku-build": ("heroku", (_DRAIN, "dyno_size=standard-1x")),
    "heroku-registry": ("heroku", ("deploy=registry", _DRAIN, "dyno_size=standard-1x")),
}
# Removed on purpose (issue 10, item 7): the stack no longer creates a cluster-wide ClusterIssuer, which another
# stack could collide with and `pulumi destroy` would take from every stack that used it. With `acme_email` it
# creates its own namespaced Issuer instead, with the Service and Mapping that route its HTTP-01 challenges
# (ADDED["k8s-full"]); before, the override `acme_email` made the ClusterIssuer named by `tls_issuer`.
# Removed on purpose (issue 16, item 6): the registry mode's images were pulumi-docker RemoteImage + RegistryImage,
# whose build needs Docker's containerd image store off; pulumi-docker-build's Image (ADDED) builds and pushes on
# either store. They hold no data: deleting them keeps the local images and the pushed tags (keep_locally,
# keep_remotely), and the release then sends the new images' config digests. Another type cannot be aliased.
# Removed on purpose, for the same reason (pulumi/pulumi-docker#967): the k8s stack's image was pulumi-docker's
# Image; pulumi-docker-build's Image (ADDED) replaces it. A build artefact, not state: deleting the old one keeps
# the pushed tag, and the pods move to the new build's digest in the same `pulumi up`.
_REGISTRY = HEROKU + "paasport:heroku_registry:RegistryRelease$"
OLD_IMAGE = K8S + "paasport:image:AppImage$docker:index/image:Image::paasport"
IMAGE = K8S + "paasport:image:AppImage$docker-build:index:Image::paasport"
REMOVED = {
    "k8s": [OLD_IMAGE],
    "k8s-full": [K8S + "paasport:tls:Tls$kubernetes:cert-manager.io/v1:ClusterIssuer::letsencrypt-prod", OLD_IMAGE],
    "k8s-hpa-off": [OLD_IMAGE],
    "heroku-registry": [_REGISTRY + "docker:index/registryImage:RegistryImage::paasport-release-push",
                        _REGISTRY + "docker:index/registryImage:RegistryImage::paasport-web-push",
                        _REGISTRY + "docker:index/remoteImage:RemoteImage::paasport-release",
                        _REGISTRY + "docker:index/remoteImage:RemoteImage::paasport-web"],
}

# As 6dc0f7d (before the move) registered them, for the same settings.
BEFORE = {
    "k8s": [
        K8S + "paasport:backup:DatabaseBackup$kubernetes:batch/v1:CronJob::paasport-backup",
        K8S + "paasport:backup:DatabaseBackup$kubernetes:core/v1:PersistentVolumeClaim::paasport-backup",
        K8S + "paasport:backup:DatabaseBackup$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-backup",
        K8S + "paasport:database:Database$kubernetes:core/v1:Secret::paasport-db",
        K8S + "paasport:database:Database$kubernetes:helm.sh/v3:Release::paasport-postgresql",
        K8S + "paasport:database:Database$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-postgresql",
        K8S + "paasport:database:Database$random:index/randomPassword:RandomPassword::paasport-password",
        K8S + "paasport:database:Database$random:index/randomPassword:RandomPassword::paasport-postgres-password",
        K8S + "paasport:image:AppImage$docker:index/image:Image::paasport",
        K8S + "paasport:ingress:Ingress$kubernetes:getambassador.io/v3alpha1:Host::paasport",
        K8S + "paasport:ingress:Ingress$kubernetes:getambassador.io/v3alpha1:Mapping::paasport-web",
        K8S + "paasport:namespace:Namespace$kubernetes:core/v1:Namespace::paasport",
        K8S + "paasport:release:ReleaseJob$kubernetes:batch/v1:Job::paasport-release",
        K8S + "paasport:release:ReleaseJob$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-release",
        K8S + "paasport:tls:Tls$kubernetes:cert-manager.io/v1:Certificate::paasport-tls",
        K8S + "paasport:web:WebApp$kubernetes:apps/v1:Deployment::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:autoscaling/v2:HorizontalPodAutoscaler::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:core/v1:Service::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:policy/v1:PodDisruptionBudget::paasport-web",
        K8S + "paasport:backup:DatabaseBackup::paasport",
        K8S + "paasport:database:Database::paasport",
        K8S + "paasport:image:AppImage::paasport",
        K8S + "paasport:ingress:Ingress::paasport",
        K8S + "paasport:namespace:Namespace::paasport",
        K8S + "paasport:release:ReleaseJob::paasport",
        K8S + "paasport:tls:Tls::paasport",
        K8S + "paasport:web:WebApp::paasport",
    ],
    "k8s-full": [
        K8S + "paasport:backup:DatabaseBackup$kubernetes:batch/v1:CronJob::paasport-backup",
        K8S + "paasport:backup:DatabaseBackup$kubernetes:core/v1:PersistentVolumeClaim::paasport-backup",
        K8S + "paasport:backup:DatabaseBackup$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-backup",
        K8S + "paasport:database:Database$kubernetes:core/v1:Secret::paasport-db",
        K8S + "paasport:database:Database$kubernetes:helm.sh/v3:Release::paasport-postgresql",
        K8S + "paasport:database:Database$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-postgresql",
        K8S + "paasport:database:Database$random:index/randomPassword:RandomPassword::paasport-password",
        K8S + "paasport:database:Database$random:index/randomPassword:RandomPassword::paasport-postgres-password",
        K8S + "paasport:image:AppImage$docker:index/image:Image::paasport",
        K8S + "paasport:image:AppImage$kubernetes:core/v1:Secret::paasport-registry",
        K8S + "paasport:ingress:Ingress$kubernetes:getambassador.io/v3alpha1:Host::paasport",
        K8S + "paasport:ingress:Ingress$kubernetes:getambassador.io/v3alpha1:Mapping::paasport-web",
        K8S + "paasport:namespace:Namespace$kubernetes:core/v1:Namespace::paasport",
        K8S + "paasport:release:ReleaseJob$kubernetes:batch/v1:Job::paasport-release",
        K8S + "paasport:release:ReleaseJob$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-release",
        K8S + "paasport:tls:Tls$kubernetes:cert-manager.io/v1:Certificate::paasport-tls",
        K8S + "paasport:tls:Tls$kubernetes:cert-manager.io/v1:ClusterIssuer::letsencrypt-prod",
        K8S + "paasport:web:WebApp$kubernetes:apps/v1:Deployment::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:autoscaling/v2:HorizontalPodAutoscaler::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:core/v1:Service::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:policy/v1:PodDisruptionBudget::paasport-web",
        K8S + "paasport:backup:DatabaseBackup::paasport",
        K8S + "paasport:database:Database::paasport",
        K8S + "paasport:image:AppImage::paasport",
        K8S + "paasport:ingress:Ingress::paasport",
        K8S + "paasport:namespace:Namespace::paasport",
        K8S + "paasport:release:ReleaseJob::paasport",
        K8S + "paasport:tls:Tls::paasport",
        K8S + "paasport:web:WebApp::paasport",
    ],
    "k8s-hpa-off": [
        K8S + "paasport:backup:DatabaseBackup$kubernetes:batch/v1:CronJob::paasport-backup",
        K8S + "paasport:backup:DatabaseBackup$kubernetes:core/v1:PersistentVolumeClaim::paasport-backup",
        K8S + "paasport:backup:DatabaseBackup$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-backup",
        K8S + "paasport:database:Database$kubernetes:core/v1:Secret::paasport-db",
        K8S + "paasport:database:Database$kubernetes:helm.sh/v3:Release::paasport-postgresql",
        K8S + "paasport:database:Database$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-postgresql",
        K8S + "paasport:database:Database$random:index/randomPassword:RandomPassword::paasport-password",
        K8S + "paasport:database:Database$random:index/randomPassword:RandomPassword::paasport-postgres-password",
        K8S + "paasport:image:AppImage$docker:index/image:Image::paasport",
        K8S + "paasport:ingress:Ingress$kubernetes:getambassador.io/v3alpha1:Host::paasport",
        K8S + "paasport:ingress:Ingress$kubernetes:getambassador.io/v3alpha1:Mapping::paasport-web",
        K8S + "paasport:namespace:Namespace$kubernetes:core/v1:Namespace::paasport",
        K8S + "paasport:release:ReleaseJob$kubernetes:batch/v1:Job::paasport-release",
        K8S + "paasport:release:ReleaseJob$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-release",
        K8S + "paasport:tls:Tls$kubernetes:cert-manager.io/v1:Certificate::paasport-tls",
        K8S + "paasport:web:WebApp$kubernetes:apps/v1:Deployment::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:core/v1:Service::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-web",
        K8S + "paasport:web:WebApp$kubernetes:policy/v1:PodDisruptionBudget::paasport-web",
        K8S + "paasport:backup:DatabaseBackup::paasport",
        K8S + "paasport:database:Database::paasport",
        K8S + "paasport:image:AppImage::paasport",
        K8S + "paasport:ingress:Ingress::paasport",
        K8S + "paasport:namespace:Namespace::paasport",
        K8S + "paasport:release:ReleaseJob::paasport",
        K8S + "paasport:tls:Tls::paasport",
        K8S + "paasport:web:WebApp::paasport",
    ],
    "heroku-build": [
        HEROKU + "paasport:heroku_app:HerokuApp$heroku:app/app:App::paasport",
        HEROKU + "paasport:heroku_build:HerokuBuild$heroku:build/build:Build::paasport",
        HEROKU + "paasport:heroku_domain:CustomDomain$heroku:domain/domain:Domain::paasport",
        HEROKU + "paasport:heroku_features:AppFeatures$heroku:app/feature:Feature::paasport-log-runtime-metrics",
        HEROKU + "paasport:heroku_features:AppFeatures$heroku:app/feature:Feature::paasport-preboot",
        HEROKU + "paasport:heroku_formation:WebFormation$heroku:formation/formation:Formation::paasport-web",
        HEROKU + "paasport:heroku_logs:LogDrain$heroku:drain/drain:Drain::paasport",
        HEROKU + "paasport:heroku_postgres:HerokuPostgres$heroku:addon/addon:Addon::paasport-postgres",
        HEROKU + "paasport:heroku_app:HerokuApp::paasport",
        HEROKU + "paasport:heroku_build:HerokuBuild::paasport",
        HEROKU + "paasport:heroku_domain:CustomDomain::paasport",
        HEROKU + "paasport:heroku_features:AppFeatures::paasport",
        HEROKU + "paasport:heroku_formation:WebFormation::paasport",
        HEROKU + "paasport:heroku_logs:LogDrain::paasport",
        HEROKU + "paasport:heroku_postgres:HerokuPostgres::paasport",
    ],
    "heroku-registry": [
        HEROKU + "paasport:heroku_app:HerokuApp$heroku:app/app:App::paasport",
        HEROKU + "paasport:heroku_domain:CustomDomain$heroku:domain/domain:Domain::paasport",
        HEROKU + "paasport:heroku_features:AppFeatures$heroku:app/feature:Feature::paasport-log-runtime-metrics",
        HEROKU + "paasport:heroku_features:AppFeatures$heroku:app/feature:Feature::paasport-preboot",
        HEROKU + "paasport:heroku_formation:WebFormation$heroku:formation/formation:Formation::paasport-web",
        HEROKU + "paasport:heroku_logs:LogDrain$heroku:drain/drain:Drain::paasport",
        HEROKU + "paasport:heroku_postgres:HerokuPostgres$heroku:addon/addon:Addon::paasport-postgres",
        HEROKU + "paasport:heroku_registry:RegistryRelease$docker:index/registryImage:RegistryImage"
        "::paasport-release-push",
        HEROKU + "paasport:heroku_registry:RegistryRelease$docker:index/registryImage:RegistryImage::paasport-web-push",
        HEROKU + "paasport:heroku_registry:RegistryRelease$docker:index/remoteImage:RemoteImage::paasport-release",
        HEROKU + "paasport:heroku_registry:RegistryRelease$docker:index/remoteImage:RemoteImage::paasport-web",
        HEROKU + "paasport:heroku_registry:RegistryRelease$pulumi-python:dynamic/heroku:ContainerRelease::paasport",
        HEROKU + "paasport:heroku_app:HerokuApp::paasport",
        HEROKU + "paasport:heroku_domain:CustomDomain::paasport",
        HEROKU + "paasport:heroku_features:AppFeatures::paasport",
        HEROKU + "paasport:heroku_formation:WebFormation::paasport",
        HEROKU + "paasport:heroku_logs:LogDrain::paasport",
        HEROKU + "paasport:heroku_postgres:HerokuPostgres::paasport",
        HEROKU + "paasport:heroku_registry:RegistryRelease::paasport",
    ],
}
# What the stacks create since, each on purpose: the ACME Issuer and its challenge route (issue 10, item 7); the
# wait for the Build's release phase and the ACM step after the formation (the Heroku release work); the Secret
# that gives the app Heroku's DATABASE_URL on k8s (issue 19, the app contract; the chart's own Secret is untouched);
# PostgreSQL's server certificate, its key and their Secret (fixtls: apps written for Heroku require TLS); the key
# of the digest of the Secrets the pods read, which rolls them when a Secret changes (issue 25, item 2: it holds no
# data, only what keys the digest).
DIGEST = [K8S + "paasport:app_env:SecretDigest::paasport",
          K8S + "paasport:app_env:SecretDigest$random:index/randomPassword:RandomPassword::paasport-secrets-digest",
          # and the NetworkPolicy of the one-off pods of `kubectl_run` (item 4)
          K8S + "paasport:one_off:OneOffRun::paasport",
          K8S + "paasport:one_off:OneOffRun$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-run"]
DATABASE_URL = K8S + "paasport:database:Database$kubernetes:core/v1:Secret::paasport-database-url"
DB_TLS = [K8S + "paasport:database:Database$kubernetes:core/v1:Secret::paasport-db-tls",
          K8S + "paasport:database:Database$tls:index/privateKey:PrivateKey::paasport-postgresql-tls",
          K8S + "paasport:database:Database$tls:index/selfSignedCert:SelfSignedCert::paasport-postgresql-tls"]
ADDED = {
    "k8s": [DATABASE_URL, *DB_TLS, IMAGE, *DIGEST],
    "k8s-full": [
        DATABASE_URL, *DB_TLS,
        K8S + "paasport:tls:Tls$kubernetes:cert-manager.io/v1:Issuer::paasport-acme",
        K8S + "paasport:tls:Tls$kubernetes:core/v1:Service::paasport-acme-challenge",
        K8S + "paasport:tls:Tls$kubernetes:getambassador.io/v3alpha1:Mapping::paasport-acme-challenge",
        IMAGE, *DIGEST,
    ],
    "k8s-hpa-off": [DATABASE_URL, *DB_TLS, IMAGE, *DIGEST],
    "heroku-build": [
        HEROKU + "paasport:heroku_build:HerokuBuild$pulumi-python:dynamic/heroku:BuildRelease::paasport-release",
        HEROKU + "paasport:heroku_domain:CustomDomain$pulumi-python:dynamic/heroku:AppAcm::paasport-acm",
    ],
    "heroku-registry": [
        HEROKU + "paasport:heroku_domain:CustomDomain$pulumi-python:dynamic/heroku:AppAcm::paasport-acm",
        _REGISTRY + "docker-build:index:Image::paasport-release",
        _REGISTRY + "docker-build:index:Image::paasport-web",
    ],
}


def test_top_level_urns_carry_no_root_stack_type():
    assert K8S + "paasport:web:WebApp::paasport" in urns("k8s")
    assert not [u for u in urns("heroku-build") if "pulumi:pulumi:Stack" in u]


def urns(case: str) -> list[str]:
    stack, overrides = CASES[case]
    return sorted(r.urn for r in support.plan(stack, overrides).resources)


@pytest.mark.parametrize("case", CASES)
def test_every_resource_of_before_the_move_keeps_its_urn(case):
    missing = set(BEFORE[case]) - set(urns(case))
    assert missing == set(REMOVED.get(case, [])), "these would be deleted and created anew by `pulumi up`"


@pytest.mark.parametrize("case", CASES)
def test_the_stacks_register_exactly_these_urns(case):
    expected = (set(BEFORE[case]) - set(REMOVED.get(case, []))) | set(ADDED[case])
    assert urns(case) == sorted(expected)


CLUSTER = "urn:pulumi:cluster::paasport::"
# The cluster stack (Pulumi.cluster.yaml as committed), new with issue 20: the Let's Encrypt ClusterIssuers that the
# k8s stack stopped creating (REMOVED) now belong to the one stack that owns what is cluster-wide.
# The Linkerd certificates' children: their component sits in the Linkerd component.
CERTS = CLUSTER + "paasport:linkerd:Linkerd$paasport:linkerd:Certificates$tls:index/"
STORE = CLUSTER + "paasport:logs:Logs$paasport:logs:StoreCertificates$tls:index/"  # the log store's, likewise
CLUSTER_URNS = [
    CLUSTER + "paasport:ingress:Emissary$kubernetes:core/v1:Namespace::emissary",
    CLUSTER + "paasport:ingress:Emissary$kubernetes:getambassador.io/v3alpha1:Listener::paasport-listener-8080",
    CLUSTER + "paasport:ingress:Emissary$kubernetes:getambassador.io/v3alpha1:Listener::paasport-listener-8443",
    CLUSTER + "paasport:ingress:Emissary$kubernetes:helm.sh/v3:Release::paasport-emissary",
    CLUSTER + "paasport:ingress:Emissary$kubernetes:helm.sh/v3:Release::paasport-emissary-crds",
    CLUSTER + "paasport:ingress:Emissary::paasport",
    CLUSTER + "paasport:linkerd:Linkerd$kubernetes:core/v1:Namespace::linkerd",
    CLUSTER + "paasport:linkerd:Linkerd$kubernetes:core/v1:Namespace::linkerd-cni",
    CLUSTER + "paasport:linkerd:Linkerd$kubernetes:core/v1:Secret::paasport-linkerd-identity-issuer",
    CLUSTER + "paasport:linkerd:Linkerd$kubernetes:helm.sh/v3:Release::paasport-linkerd",
    CLUSTER + "paasport:linkerd:Linkerd$kubernetes:helm.sh/v3:Release::paasport-linkerd-cni",
    CLUSTER + "paasport:linkerd:Linkerd$kubernetes:helm.sh/v3:Release::paasport-linkerd-crds",
    CERTS + "certRequest:CertRequest::paasport-linkerd-issuer",
    CERTS + "locallySignedCert:LocallySignedCert::paasport-linkerd-issuer",
    CERTS + "privateKey:PrivateKey::paasport-linkerd-issuer",
    CERTS + "privateKey:PrivateKey::paasport-linkerd-trust-anchor",
    CERTS + "selfSignedCert:SelfSignedCert::paasport-linkerd-trust-anchor",
    CLUSTER + "paasport:linkerd:Linkerd$paasport:linkerd:Certificates::paasport-linkerd",
    CLUSTER + "paasport:linkerd:Linkerd::paasport",
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Namespace::logging",
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Namespace::opensearch",
    # Issue 26: the admin's Secrets (opensearch-admin-logging, -opensearch) went; Fluent Bit and the Dashboards
    # sign in as users of their own, and the store's users, certificates and CA are the stack's. Secrets of
    # generated values: the passwords live on in their RandomPasswords, the admin's under its old URN.
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Secret::opensearch-ca-logging",
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Secret::opensearch-ca-opensearch",
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Secret::opensearch-dashboards-opensearch",
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Secret::opensearch-fluentbit-logging",
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Secret::opensearch-security-opensearch",
    CLUSTER + "paasport:logs:Logs$kubernetes:core/v1:Secret::opensearch-tls-opensearch",
    CLUSTER + "paasport:logs:Logs$kubernetes:helm.sh/v3:Release::paasport-fluent-bit",
    CLUSTER + "paasport:logs:Logs$kubernetes:helm.sh/v3:Release::paasport-opensearch",
    CLUSTER + "paasport:logs:Logs$kubernetes:helm.sh/v3:Release::paasport-opensearch-dashboards",
    CLUSTER + "paasport:logs:Logs$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-opensearch",
    STORE + "certRequest:CertRequest::paasport-opensearch-tls-admin",
    STORE + "certRequest:CertRequest::paasport-opensearch-tls-node",
    STORE + "locallySignedCert:LocallySignedCert::paasport-opensearch-tls-admin",
    STORE + "locallySignedCert:LocallySignedCert::paasport-opensearch-tls-node",
    STORE + "privateKey:PrivateKey::paasport-opensearch-tls-admin",
    STORE + "privateKey:PrivateKey::paasport-opensearch-tls-ca",
    STORE + "privateKey:PrivateKey::paasport-opensearch-tls-node",
    STORE + "selfSignedCert:SelfSignedCert::paasport-opensearch-tls-ca",
    CLUSTER + "paasport:logs:Logs$paasport:logs:StoreCertificates::paasport-opensearch-tls",
    CLUSTER + "paasport:logs:Logs$random:index/randomPassword:RandomPassword::paasport-opensearch-admin",
    CLUSTER + "paasport:logs:Logs$random:index/randomPassword:RandomPassword::paasport-opensearch-dashboards",
    CLUSTER + "paasport:logs:Logs$random:index/randomPassword:RandomPassword::paasport-opensearch-dashboards-cookie",
    CLUSTER + "paasport:logs:Logs$random:index/randomPassword:RandomPassword::paasport-opensearch-fluentbit",
    CLUSTER + "paasport:logs:Logs::paasport",
    CLUSTER + "paasport:metrics:Metrics$kubernetes:core/v1:Namespace::monitoring",
    CLUSTER + "paasport:metrics:Metrics$kubernetes:core/v1:Secret::grafana-admin",
    CLUSTER + "paasport:metrics:Metrics$kubernetes:helm.sh/v3:Release::paasport-grafana",
    CLUSTER + "paasport:metrics:Metrics$kubernetes:helm.sh/v3:Release::paasport-prometheus",
    CLUSTER + "paasport:metrics:Metrics$random:index/randomPassword:RandomPassword::paasport-grafana-admin",
    CLUSTER + "paasport:metrics:Metrics::paasport",
    CLUSTER + "paasport:metricsserver:MetricsServer$kubernetes:core/v1:Namespace::metrics-server",
    CLUSTER + "paasport:metricsserver:MetricsServer$kubernetes:helm.sh/v3:Release::paasport-metrics-server",
    CLUSTER + "paasport:metricsserver:MetricsServer::paasport",
    CLUSTER + "paasport:tls:CertManager$kubernetes:cert-manager.io/v1:ClusterIssuer::letsencrypt-prod",
    CLUSTER + "paasport:tls:CertManager$kubernetes:cert-manager.io/v1:ClusterIssuer::letsencrypt-staging",
    CLUSTER + "paasport:tls:CertManager$kubernetes:core/v1:Namespace::cert-manager",
    CLUSTER + "paasport:tls:CertManager$kubernetes:helm.sh/v3:Release::paasport-cert-manager",
    CLUSTER + "paasport:tls:CertManager::paasport",
]


def test_the_cluster_stack_registers_exactly_these_urns():
    assert sorted(r.urn for r in offline_plan.run("cluster").resources) == CLUSTER_URNS


def test_the_removed_cluster_issuer_is_replaced_by_the_stacks_own_issuer_and_challenge_route():
    cluster_issuer, _image = REMOVED["k8s-full"]
    now = urns("k8s-full")
    assert cluster_issuer not in now
    assert [u.rsplit("$", 1)[1] for u in ADDED["k8s-full"][1 + len(DB_TLS):4 + len(DB_TLS)]] == [
        "kubernetes:cert-manager.io/v1:Issuer::paasport-acme",
        "kubernetes:core/v1:Service::paasport-acme-challenge",
        "kubernetes:getambassador.io/v3alpha1:Mapping::paasport-acme-challenge",
    ]
    assert set(ADDED["k8s-full"]) <= set(now)


# Issue 27: a worker's objects are `<app_name>-<type>`, no longer `<app_name>-worker-<type>` (`paasport-worker-worker`
# for a type named worker). Each resource a stack made before holds is aliased from the URN it had (0092967 registered
# these, for WORKERS_APP), so the engine takes its state as the renamed resource's: nothing is deleted as unknown,
# and a Deployment is replaced by its renamed self, new pods first. A type spelled like one of the stack's own
# objects (`backup`) keeps the prefix, and its URNs did not move.
WORKER = K8S + "paasport:worker:Worker"
RENAMED = {
    WORKER + "::paasport-worker-worker": WORKER + "::paasport-worker",
    WORKER + "$kubernetes:apps/v1:Deployment::paasport-worker-worker":
        WORKER + "$kubernetes:apps/v1:Deployment::paasport-worker",
    WORKER + "$kubernetes:autoscaling/v2:HorizontalPodAutoscaler::paasport-worker-worker":
        WORKER + "$kubernetes:autoscaling/v2:HorizontalPodAutoscaler::paasport-worker",
    WORKER + "$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-worker-worker":
        WORKER + "$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-worker",
}
KEPT = [WORKER + "::paasport-worker-backup",
        WORKER + "$kubernetes:apps/v1:Deployment::paasport-worker-backup",
        WORKER + "$kubernetes:networking.k8s.io/v1:NetworkPolicy::paasport-worker-backup"]
WORKERS_APP = {
    "Dockerfile": 'FROM python:3.13-slim\nUSER 10001\nCMD ["python", "-m", "http.server"]\n',
    "Procfile": "web: python -m http.server $PORT\nworker: python worker.py\nbackup: python backup.py\n",
    "app.json": json.dumps({"formation": {
        "worker": {"quantity": 1, "autoscaling": {"min_quantity": 1, "max_quantity": 3,
                                                  "triggers": [{"type": "cpu", "metadata": {"value": "70"}}]}},
        "backup": {"quantity": 1}}}),
}


@pytest.fixture(scope="module")
def workers_app(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("workers-app")
    for name, text in WORKERS_APP.items():
        (directory / name).write_text(text)
    return str(directory)


def test_each_renamed_worker_resource_takes_over_its_old_urn(workers_app):
    now = {r.urn: r for r in support.plan("k8s", (f"app_dir={workers_app}",)).resources}
    for old, new in RENAMED.items():
        assert old not in now, f"{old} is still registered"
        assert old in now[new].aliases, f"{new} does not alias {old}: `pulumi up` would delete it and create anew"
    assert [u for u in now if u.startswith(WORKER)] == sorted([*RENAMED.values(), *KEPT])
    # The kept ones carry no alias of another name (pulumi-kubernetes' own aliases of older API versions aside).
    assert all(a.rsplit("::", 1)[1] == now[u].name for u in KEPT for a in now[u].aliases)


def test_worker_objects_are_named_after_the_app_and_their_type_once(workers_app):
    p = support.plan("k8s", (f"app_dir={workers_app}", "app_name=shop"))
    names = sorted((r.type.rsplit(":", 1)[1], support.obj(r)["metadata"]["name"])
                   for r in p.resources if r.urn.startswith(WORKER + "$"))
    assert names == [("Deployment", "shop-worker"), ("Deployment", "shop-worker-backup"),
                     ("HorizontalPodAutoscaler", "shop-worker"), ("NetworkPolicy", "shop-worker"),
                     ("NetworkPolicy", "shop-worker-backup")]


def test_the_app_name_setting_changes_no_urn():
    """`app_name` names the cluster's objects, never Pulumi's resources: a stack keeps its URNs whatever it is."""
    assert urns("k8s") == sorted(r.urn for r in support.plan("k8s", ("app_name=shop",)).resources)
