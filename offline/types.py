"""The Pulumi type tokens of every resource the program registers: the one table the offline tools and tests read.

A token is `package:module:Type` as the engine records it in each URN (kubernetes objects: `kubernetes:<group>/
<version>:<Kind>`, a core group object `kubernetes:core/v1:<Kind>`). The program itself never spells them: the
provider SDKs do. A renamed token is a new URN, hence a replacement of the resource; tests/infra/test_urns.py
lists every URN.
"""

from __future__ import annotations

# --- Kubernetes (pulumi-kubernetes) ------------------------------------------------------------------------------
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 (a type token)
SERVICE = "kubernetes:core/v1:Service"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"  # templated client-side, when `render_dir` is set
CHARTS = (HELM_RELEASE, HELM_CHART)
# cert-manager and Emissary-ingress custom resources (pulumi_kubernetes.apiextensions.CustomResource)
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ISSUER = "kubernetes:cert-manager.io/v1:Issuer"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
HOST = "kubernetes:getambassador.io/v3alpha1:Host"
MAPPING = "kubernetes:getambassador.io/v3alpha1:Mapping"
LISTENER = "kubernetes:getambassador.io/v3alpha1:Listener"
K8S_PROVIDER = "pulumi:providers:kubernetes"  # an explicit provider: kubeconfig, context or render_dir

# --- Docker (pulumi-docker-build) and random (pulumi-random) -----------------------------------------------------
BUILDX_IMAGE = "docker-build:index:Image"  # pulumi-docker-build: buildx, either image store
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"  # noqa: S105 (a type token)

# --- TLS (pulumi-tls): Linkerd's trust anchor and issuer, in the cluster stack ---------------------------------
TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
TLS_SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
TLS_CERT_REQUEST = "tls:index/certRequest:CertRequest"
TLS_LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"

# --- Heroku (pulumiverse-heroku) and the program's own dynamic resources -----------------------------------------
HEROKU_APP = "heroku:app/app:App"
HEROKU_FEATURE = "heroku:app/feature:Feature"
HEROKU_ADDON = "heroku:addon/addon:Addon"
HEROKU_BUILD = "heroku:build/build:Build"
HEROKU_FORMATION = "heroku:formation/formation:Formation"
HEROKU_DOMAIN = "heroku:domain/domain:Domain"
HEROKU_DRAIN = "heroku:drain/drain:Drain"
CONTAINER_RELEASE = "pulumi-python:dynamic/heroku:ContainerRelease"
BUILD_RELEASE = "pulumi-python:dynamic/heroku:BuildRelease"  # waits for a Build's release (phase included)
APP_ACM = "pulumi-python:dynamic/heroku:AppAcm"  # enables ACM once a dyno that can have it runs
