"""Logs: Fluent Bit on every node ships the containers' log lines, the app's JSON read into fields, to OpenSearch,
searched with OpenSearch Dashboards.

Why Fluent Bit + OpenSearch and not the articles' fluentd + Elasticsearch, or Loki: the charts at hand are Fluent
Bit 0.58.1 (Fluent Bit 5.1.1), OpenSearch 3.6.0 and OpenSearch Dashboards 3.6.0 (../shared/charts has no fluentd,
Elasticsearch or Loki chart). Fluent Bit is a C agent: the node agent, which runs once per node, requests 50m CPU
and 64 MiB here, where fluentd (Ruby) commonly needs 200-500 MiB. OpenSearch is the Apache-2.0 continuation of
Elasticsearch 7.10, with the same query language and a Dashboards UI (Kibana's fork), so the articles' "search
the logs in Kibana" is kept. Figures per component: tests/offline/test_observability.py, `make plan`.

Upstream references: the charts' values.yaml (fluent/helm-charts tag fluent-bit-0.58.1: `config.*`, `env`,
`daemonSetVolumes`; opensearch-project/helm-charts tags opensearch-3.6.0 and opensearch-dashboards-3.6.0);
Fluent Bit's tail input (`multiline.parser docker, cri`), kubernetes filter (`Merge_Log` parses a JSON `log` into
fields at the top level) and opensearch output (`Suppress_Type_Name`, `Logstash_Format`)
(https://docs.fluentbit.io/manual/pipeline/filters/kubernetes, .../outputs/opensearch); OpenSearch's docker
image reads settings with dots from the environment and refuses to start without
OPENSEARCH_INITIAL_ADMIN_PASSWORD (https://docs.opensearch.org/latest/install-and-configure/install-opensearch/
docker/); `node.store.allow_mmap: false` keeps OpenSearch off mmapfs/hybridfs, and then the maximum map count
bootstrap check is not enforced (Elasticsearch's, which OpenSearch forked: https://www.elastic.co/guide/en/
elasticsearch/reference/current/_maximum_map_count_check.html), so nodes need no raised vm.max_map_count and the
chart's privileged sysctl init container stays off.

The store's security is the stack's own, never the image's demo configuration (whose node key ships in every
OpenSearch image and whose users' passwords are in OpenSearch's docs). `DISABLE_INSTALL_DEMO_CONFIG=true` keeps the
image's entrypoint from running install_demo_configuration.sh (opensearch-build docker/release/config/opensearch/
opensearch-docker-entrypoint-2.x.sh), which is also the only part that reads OPENSEARCH_INITIAL_ADMIN_PASSWORD. The
stack generates a CA, the node's certificate and an admin client certificate with pulumi-tls, and its internal
users (admin, the Dashboards server, Fluent Bit) with generated passwords, as bcrypt hashes in internal_users.yml;
the security plugin loads that configuration into its index on the first start
(`plugins.security.allow_default_init_securityindex`, https://docs.opensearch.org/latest/security/configuration/
security-admin/). Fluent Bit and the Dashboards verify the store's certificate against the stack's CA.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls
import yaml

from infra import charts
from infra.charts import ChartSource, read_charts
from infra.cluster.namespace import namespace
from infra.k8s.settings import _QUANTITY
from infra.settings import Reader

FLUENT_BIT_CHART, OPENSEARCH_CHART, DASHBOARDS_CHART = "fluent-bit", "opensearch", "opensearch-dashboards"
CHARTS = (FLUENT_BIT_CHART, OPENSEARCH_CHART, DASHBOARDS_CHART)
# The node agent reads the host's /var/log (hostPath), which only `privileged` admits; the store and its UI are
# plain pods, in a namespace of their own that enforces `restricted`.
AGENT_NAMESPACE, STORE_NAMESPACE = "logging", "opensearch"
# opensearch 3.6.0 names its Service `<clusterName>-<nodeGroup>` (values.yaml: opensearch-cluster, master).
OPENSEARCH_HOST = f"opensearch-cluster-master.{STORE_NAMESPACE}.svc"
OPENSEARCH_PORT = 9200
ADMIN_USER, AGENT_USER, DASHBOARDS_USER = "admin", "fluentbit", "dashboards"
# Secrets' names: the agent's and the Dashboards' credentials, the store's TLS and security configuration, the CA.
AGENT_SECRET, DASHBOARDS_SECRET = "opensearch-fluentbit", "opensearch-dashboards"
TLS_SECRET, SECURITY_SECRET, CA_SECRET = "opensearch-tls", "opensearch-security", "opensearch-ca"
INDEX_PREFIX = "logs"
OPENSEARCH_HOME = "/usr/share/opensearch"
CERTS_DIR = f"{OPENSEARCH_HOME}/config/certs"  # inside the config directory, where the plugin reads PEM files
CA_FILE = "/fluent-bit/etc/opensearch-ca/ca.crt"  # the agent's copy of the CA
DASHBOARDS_CA_FILE = "/usr/share/opensearch-dashboards/config/opensearch-ca/ca.crt"
# The node's and the admin's subjects: the plugin knows nodes and its super admin by their certificates' DNs.
NODE_CN, ADMIN_CN = "opensearch-cluster-master", "paasport-opensearch-admin"
CA_HOURS = 10 * 8760
CERT_HOURS = 8760
RENEWAL_HOURS = 30 * 24
_RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                         "seccompProfile": {"type": "RuntimeDefault"}}


@dataclass(frozen=True)
class LogsSettings:
    """Where the three charts come from, and the log store's volume."""

    fluent_bit: ChartSource
    opensearch: ChartSource
    dashboards: ChartSource
    storage_size: str


def read_settings(r: Reader) -> LogsSettings | None:
    """The logs settings (`logs_*`, `fluent_bit_*`, `opensearch_*`); None when `logs_enabled` is false."""
    fluent_bit = read_charts(r, "fluent_bit", (FLUENT_BIT_CHART,), example_version="0.58.1")[FLUENT_BIT_CHART]
    store = read_charts(r, "opensearch", (OPENSEARCH_CHART, DASHBOARDS_CHART), example_version="3.6.0")
    storage_size = r.text("logs_storage_size", pattern=_QUANTITY, why="a Kubernetes quantity like 8Gi",
                          example="8Gi")
    if not r.flag("logs_enabled"):
        return None
    return LogsSettings(fluent_bit=fluent_bit, opensearch=store[OPENSEARCH_CHART],
                        dashboards=store[DASHBOARDS_CHART], storage_size=storage_size)


# --- Fluent Bit ----------------------------------------------------------------------------------------------

INPUTS = """\
[INPUT]
    Name tail
    Path /var/log/containers/*.log
    multiline.parser docker, cri
    Tag kube.*
    DB /var/lib/fluent-bit/kube.db
    Mem_Buf_Limit 16MB
    Skip_Long_Lines On
"""
FILTERS = """\
[FILTER]
    Name kubernetes
    Match kube.*
    Merge_Log On
    Keep_Log Off
    K8S-Logging.Parser On
    K8S-Logging.Exclude On
    Annotations Off
"""
OUTPUTS = f"""\
[OUTPUT]
    Name opensearch
    Match kube.*
    Host {OPENSEARCH_HOST}
    Port {OPENSEARCH_PORT}
    HTTP_User {AGENT_USER}
    HTTP_Passwd ${{OPENSEARCH_PASSWORD}}
    tls On
    tls.verify On
    tls.verify_hostname On
    tls.ca_file {CA_FILE}
    Logstash_Format On
    Logstash_Prefix {INDEX_PREFIX}
    Suppress_Type_Name On
    Replace_Dots On
    Trace_Error On
    Retry_Limit 10
"""


def fluent_bit_values() -> dict:
    """fluent-bit 0.58.1 values: containers' logs only (the chart's systemd input is dropped), to OpenSearch as user
    `fluentbit`, which may only write logs-* indices; the password comes from the stack's Secret through the
    environment (Fluent Bit expands ${VAR} in its config). TLS is verified against the stack's CA, host name
    included (`tls.verify_hostname`, off by default: https://docs.fluentbit.io/manual/administration/
    transport-security)."""
    return {
        "testFramework": {"enabled": False},
        "config": {"inputs": INPUTS, "filters": FILTERS, "outputs": OUTPUTS},
        "env": [{"name": "OPENSEARCH_PASSWORD",
                 "valueFrom": {"secretKeyRef": {"name": AGENT_SECRET, "key": "password"}}}],
        # Root reads the root-owned 0640 files under /var/log/pods; it needs no capability for that.
        "securityContext": {**_RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True},
        # The host's /var/log read-only (containerd's /var/log/pods, linked from /var/log/containers), and a
        # directory of its own for the tail positions, so a restarted agent neither skips nor resends lines. The
        # chart's /var/lib/docker/containers and /etc/machine-id serve Docker and the systemd input: not used here.
        "daemonSetVolumes": [
            {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {"name": "state", "hostPath": {"path": "/var/lib/fluent-bit", "type": "DirectoryOrCreate"}},
            {"name": "opensearch-ca", "secret": {"secretName": CA_SECRET}}],
        "daemonSetVolumeMounts": [{"name": "varlog", "mountPath": "/var/log", "readOnly": True},
                                  {"name": "state", "mountPath": "/var/lib/fluent-bit"},
                                  {"name": "opensearch-ca", "mountPath": CA_FILE.rsplit("/", 1)[0],
                                   "readOnly": True}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }


# --- OpenSearch and its Dashboards ---------------------------------------------------------------------------


def opensearch_config() -> str:
    """opensearch.yml: the stack's certificates for the transport and REST layers, its node and admin DNs, the
    security index loaded from the stack's files on the first start, no demo certificate allowed
    (https://docs.opensearch.org/latest/security/configuration/tls/, .../configuration/yaml/)."""
    tls_files = {"pemcert_filepath": "certs/tls.crt", "pemkey_filepath": "certs/tls.key",
                 "pemtrustedcas_filepath": "certs/ca.crt"}
    return yaml.safe_dump({
        "cluster.name": "opensearch-cluster",
        "network.host": "0.0.0.0",  # noqa: S104 (a pod's address; the NetworkPolicy admits the clients)
        "plugins.security.ssl.transport": {**tls_files, "enforce_hostname_verification": False},
        "plugins.security.ssl.http": {"enabled": True, **tls_files},
        "plugins.security.allow_unsafe_democertificates": False,
        "plugins.security.allow_default_init_securityindex": True,
        "plugins.security.nodes_dn": [f"CN={NODE_CN}"],
        "plugins.security.authcz.admin_dn": [f"CN={ADMIN_CN}"],
        "plugins.security.restapi.roles_enabled": ["all_access"],
    }, sort_keys=False)


def security_files(hashes: dict[str, str]) -> dict[str, str]:
    """The security plugin's internal_users.yml, roles.yml and roles_mapping.yml (https://docs.opensearch.org/latest/
    security/configuration/yaml/): the stack's three users, each with the bcrypt hash of its generated password
    (`hashes`, by user), and nothing else; `fluentbit` may only write logs-* indices, `dashboards` is the Dashboards
    server (the plugin's static role kibana_server), `admin` has all_access."""
    def meta(kind: str) -> dict:
        return {"_meta": {"type": kind, "config_version": 2}}

    users = {ADMIN_USER: "people, through the Dashboards or the REST API",
             DASHBOARDS_USER: "the OpenSearch Dashboards server", AGENT_USER: "Fluent Bit, writing the logs"}
    return {
        "internal_users.yml": yaml.safe_dump({**meta("internalusers"), **{
            user: {"hash": hashes[user], "reserved": False, "description": about} for user, about in users.items()}},
            sort_keys=False),
        "roles.yml": yaml.safe_dump({**meta("roles"), "logs_writer": {
            "cluster_permissions": ["cluster_monitor", "indices:data/write/bulk"],
            "index_permissions": [{"index_patterns": [f"{INDEX_PREFIX}-*"],
                                   "allowed_actions": ["create_index", "indices:data/write/*",
                                                       "indices:admin/mapping/put"]}]}}, sort_keys=False),
        "roles_mapping.yml": yaml.safe_dump({**meta("rolesmapping"),
                                             "all_access": {"reserved": False, "users": [ADMIN_USER]},
                                             "kibana_server": {"reserved": True, "users": [DASHBOARDS_USER]},
                                             "logs_writer": {"reserved": False, "users": [AGENT_USER]}},
                                            sort_keys=False),
    }


def opensearch_values(s: LogsSettings) -> dict:
    """opensearch 3.6.0 values: one node (a small cluster's log store), on a volume, no privileged init container;
    the stack's opensearch.yml, certificates (`secretMounts`) and security files (`securityConfig.*Secret`, each
    mounted over the image's file of that name), and no demo installer."""
    return {
        "singleNode": True,
        "opensearchJavaOpts": "-Xms512m -Xmx512m",
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "1536Mi"}},
        "persistence": {"enabled": True, "size": s.storage_size, "enableInitChown": False},
        "sysctlInit": {"enabled": False},
        "sysctl": {"enabled": False},
        "config": {"opensearch.yml": opensearch_config()},
        "secretMounts": [{"name": "tls", "secretName": TLS_SECRET, "path": CERTS_DIR}],
        "securityConfig": {"enabled": True, "internalUsersSecret": SECURITY_SECRET, "rolesSecret": SECURITY_SECRET,
                           "rolesMappingSecret": SECURITY_SECRET},
        "extraEnvs": [
            {"name": "DISABLE_INSTALL_DEMO_CONFIG", "value": "true"},
            {"name": "node.store.allow_mmap", "value": "false"},
        ],
        "podSecurityContext": {"fsGroup": 1000, "runAsUser": 1000, "runAsNonRoot": True,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**_RESTRICTED_CONTAINER, "runAsNonRoot": True, "runAsUser": 1000},
    }


def dashboards_config() -> str:
    """opensearch_dashboards.yml: the store verified against the stack's CA, signed in as `dashboards`, the session
    cookie encrypted with a generated key (the plugin's default key is published). The secrets stay in the pod's
    environment: the Dashboards replace ${VAR} in this file with the variable's value (OpenSearch-Dashboards
    packages/osd-config/src/raw/read_config.ts, replaceEnvVarRefs)."""
    return yaml.safe_dump({
        "server.name": "dashboards", "server.host": "0.0.0.0",  # noqa: S104 (a pod's address)
        "opensearch.hosts": [f"https://{OPENSEARCH_HOST}:{OPENSEARCH_PORT}"],
        "opensearch.ssl.verificationMode": "full",
        "opensearch.ssl.certificateAuthorities": [DASHBOARDS_CA_FILE],
        "opensearch.username": "${OPENSEARCH_USERNAME}",
        "opensearch.password": "${OPENSEARCH_PASSWORD}",
        "opensearch.requestHeadersAllowlist": ["authorization", "securitytenant"],
        "opensearch_security.cookie.password": "${COOKIE_PASS}",
    }, sort_keys=False)


def dashboards_values() -> dict:
    """opensearch-dashboards 3.6.0 values: its configuration file, and the Secret of the `dashboards` user (the
    chart sets OPENSEARCH_USERNAME, OPENSEARCH_PASSWORD and COOKIE_PASS from its keys username, password, cookie)."""
    return {
        "opensearchHosts": f"https://{OPENSEARCH_HOST}:{OPENSEARCH_PORT}",
        "opensearchAccount": {"secret": DASHBOARDS_SECRET},
        "config": {"opensearch_dashboards.yml": dashboards_config()},
        "secretMounts": [{"name": "opensearch-ca", "secretName": CA_SECRET,
                          "path": DASHBOARDS_CA_FILE.rsplit("/", 1)[0]}],
        "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "768Mi"}},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**_RESTRICTED_CONTAINER, "runAsNonRoot": True, "runAsUser": 1000},
    }


class StoreCertificates(pulumi.ComponentResource):
    """The log store's CA, its node's certificate (REST and transport: server and client) and the plugin's super
    admin's client certificate, ECDSA P-256, private keys as PKCS #8 (what the plugin reads) and Pulumi secrets."""

    def __init__(self, name: str, *, protect: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:logs:StoreCertificates", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        ca_key = tls.PrivateKey(f"{name}-ca", algorithm="ECDSA", ecdsa_curve="P256", opts=kept)
        ca = tls.SelfSignedCert(f"{name}-ca", private_key_pem=ca_key.private_key_pem,
                                subject=tls.SelfSignedCertSubjectArgs(common_name=f"{name} CA"),
                                is_ca_certificate=True, validity_period_hours=CA_HOURS,
                                allowed_uses=["cert_signing", "crl_signing"], opts=kept)

        def signed(part: str, common_name: str, uses: list[str], dns_names: list[str]) -> tuple[tls.PrivateKey,
                                                                                                 tls.LocallySignedCert]:
            key = tls.PrivateKey(f"{name}-{part}", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
            request = tls.CertRequest(f"{name}-{part}", private_key_pem=key.private_key_pem,
                                      subject=tls.CertRequestSubjectArgs(common_name=common_name),
                                      dns_names=dns_names, opts=child)
            cert = tls.LocallySignedCert(f"{name}-{part}", cert_request_pem=request.cert_request_pem,
                                         ca_private_key_pem=ca_key.private_key_pem, ca_cert_pem=ca.cert_pem,
                                         validity_period_hours=CERT_HOURS, early_renewal_hours=RENEWAL_HOURS,
                                         allowed_uses=uses, opts=child)
            return key, cert

        service = OPENSEARCH_HOST.removesuffix(".svc")
        node_key, node = signed("node", NODE_CN, ["digital_signature", "key_encipherment", "server_auth",
                                                  "client_auth"],
                                [NODE_CN, service, OPENSEARCH_HOST, f"{OPENSEARCH_HOST}.cluster.local",
                                 f"{NODE_CN}-headless", f"*.{NODE_CN}-headless.{STORE_NAMESPACE}.svc"])
        admin_key, admin = signed("admin", ADMIN_CN, ["digital_signature", "key_encipherment", "client_auth"], [])
        self.ca_cert: pulumi.Output[str] = ca.cert_pem
        self.files: pulumi.Output[dict[str, str]] = pulumi.Output.secret(pulumi.Output.all(
            ca.cert_pem, node.cert_pem, node_key.private_key_pem_pkcs8, admin.cert_pem,
            admin_key.private_key_pem_pkcs8).apply(lambda pems: dict(zip(
                ("ca.crt", "tls.crt", "tls.key", "admin.crt", "admin.key"), pems, strict=True))))
        self.register_outputs({"ca_cert": self.ca_cert})


def store_policy(store_release: str, agent_release: str, dashboards_release: str) -> dict:
    """Only the agent (from `logging`) and the Dashboards reach OpenSearch's REST port, and only OpenSearch nodes its
    transport port: the store's own users and certificates guard it, and no other pod needs a connection to try
    them. The labels are the charts' selector labels (app.kubernetes.io/name and /instance)."""
    def pods(chart: str, release: str) -> dict:
        return {"matchLabels": {"app.kubernetes.io/name": chart, "app.kubernetes.io/instance": release}}

    store = pods("opensearch", store_release)
    return {
        "podSelector": store, "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": AGENT_NAMESPACE}},
                       "podSelector": pods("fluent-bit", agent_release)},
                      {"podSelector": pods("opensearch-dashboards", dashboards_release)}],
             "ports": [{"protocol": "TCP", "port": OPENSEARCH_PORT}]},
            {"from": [{"podSelector": store}], "ports": [{"protocol": "TCP", "port": 9300}]},
        ],
    }


class Logs(pulumi.ComponentResource):
    """Fluent Bit (namespace `logging`, `privileged`: it reads the nodes' /var/log), OpenSearch (its volume protected
    like the database) and its Dashboards (namespace `opensearch`, `restricted`). Every password and key is
    generated, a Pulumi secret from birth, and reaches the pods only through Secrets."""

    def __init__(self, name: str, *, settings: LogsSettings, protect: bool,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("paasport:logs:Logs", name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, protect=protect)
        child = pulumi.ResourceOptions(parent=self)

        def password(user: str, length: int = 32) -> random.RandomPassword:
            # The admin's keeps its name (and URN) from before the stack owned the store's users.
            return random.RandomPassword(f"{name}-opensearch-{user}", length=length, min_upper=2, min_lower=2,
                                         min_numeric=2, min_special=2, override_special="_-+=.", opts=kept)

        passwords = {user: password(user) for user in (ADMIN_USER, DASHBOARDS_USER, AGENT_USER)}
        cookie = password("dashboards-cookie", 48)
        store_ns = namespace(STORE_NAMESPACE, level="restricted", opts=kept)
        agent_ns = namespace(AGENT_NAMESPACE, level="privileged", opts=child)
        certificates = StoreCertificates(f"{name}-opensearch-tls", protect=protect, opts=child)

        def secret(secret_name: str, ns_name: str, ns: pulumi.Resource, data: pulumi.Input[dict]) -> k8s.core.v1.Secret:
            return k8s.core.v1.Secret(f"{secret_name}-{ns_name}", metadata={"name": secret_name, "namespace": ns_name},
                                      string_data=data, type="Opaque",
                                      opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]))

        hashes = pulumi.Output.all(**{user: p.bcrypt_hash for user, p in passwords.items()})
        store_secrets = [
            secret(TLS_SECRET, STORE_NAMESPACE, store_ns, certificates.files),
            secret(SECURITY_SECRET, STORE_NAMESPACE, store_ns,
                   pulumi.Output.secret(hashes.apply(security_files))),
            secret(CA_SECRET, STORE_NAMESPACE, store_ns, {"ca.crt": certificates.ca_cert}),
            secret(DASHBOARDS_SECRET, STORE_NAMESPACE, store_ns,
                   {"username": DASHBOARDS_USER, "password": passwords[DASHBOARDS_USER].result,
                    "cookie": cookie.result})]
        agent_secrets = [
            secret(CA_SECRET, AGENT_NAMESPACE, agent_ns, {"ca.crt": certificates.ca_cert}),
            secret(AGENT_SECRET, AGENT_NAMESPACE, agent_ns,
                   {"username": AGENT_USER, "password": passwords[AGENT_USER].result})]
        self.opensearch = charts.install(f"{name}-{OPENSEARCH_CHART}", settings.opensearch, namespace=STORE_NAMESPACE,
                                         values=opensearch_values(settings),
                                         opts=pulumi.ResourceOptions(parent=self, protect=protect,
                                                                     depends_on=[store_ns, *store_secrets[:2]]))
        self.dashboards = charts.install(f"{name}-{DASHBOARDS_CHART}", settings.dashboards, namespace=STORE_NAMESPACE,
                                         values=dashboards_values(),
                                         opts=pulumi.ResourceOptions(parent=self, depends_on=store_secrets[2:]))
        self.policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-opensearch", metadata={"name": "opensearch", "namespace": STORE_NAMESPACE},
            spec=store_policy(f"{name}-{OPENSEARCH_CHART}", f"{name}-{FLUENT_BIT_CHART}",
                              f"{name}-{DASHBOARDS_CHART}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[store_ns]))
        self.fluent_bit = charts.install(f"{name}-{FLUENT_BIT_CHART}", settings.fluent_bit, namespace=AGENT_NAMESPACE,
                                         values=fluent_bit_values(),
                                         opts=pulumi.ResourceOptions(parent=self,
                                                                     depends_on=[agent_ns, *agent_secrets]))
        self.opensearch_admin_password = passwords[ADMIN_USER].result
        self.opensearch_url = f"https://{OPENSEARCH_HOST}:{OPENSEARCH_PORT}"
        self.opensearch_ca = certificates.ca_cert
        self.register_outputs({"opensearch_admin_password": self.opensearch_admin_password,
                               "opensearch_url": self.opensearch_url, "opensearch_ca": self.opensearch_ca})
