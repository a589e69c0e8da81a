"""Configuration: one YAML file for structure, the environment for secrets.

The YAML describes clusters, tenants, channels and people. It never holds a
secret: Slack tokens come from the environment (`SLACK_BOT_TOKEN`,
`SLACK_APP_TOKEN`, `SLACK_SIGNING_SECRET`) and MinIO keys from environment
variables or a Kubernetes Secret that the YAML only *names*. Validation errors
name the field and, where the YAML tells us, the line and column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.triggers import crontab_trigger

TENANT_ACTION_KINDS = (
    "scale", "maintenance", "update", "rollback", "pod-delete", "restore", "protection", "security", "perf",
)
"""Destructive action kinds on one tenant; each may have its own approver group and approval count."""
CLUSTER_ACTION_KINDS = ("operator-update",)
"""Destructive action kinds on a whole cluster (the operator): governed by `clusters[].approvals`, never by a tenant."""
ACTION_KINDS = TENANT_ACTION_KINDS + CLUSTER_ACTION_KINDS

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_SLACK_TEAM = re.compile(r"^[TE][A-Z0-9]{2,}$")
_SLACK_APP = re.compile(r"^A[A-Z0-9]{2,}$")
# An allow-list entry: a registry (`quay.io/`), a repository prefix (`quay.io/minio/`) or one repository
# (`quay.io/minio/minio`); never a tag or digest.
_IMAGE_SOURCE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/([a-z0-9._-]+/)*([a-z0-9._-]+)?$")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PROM_MATCHER = r'\s*[a-zA-Z_]\w*\s*(=|!=|=~|!~)\s*"[^"\\]*"\s*'
_PROM_MATCHERS = re.compile(rf"^{_PROM_MATCHER}(,{_PROM_MATCHER})*$")

DEFAULT_POD_URL = "{scheme}://{pod}.{tenant}-hl.{namespace}.svc.cluster.local:{port}"
"""A MinIO pod by its stable name through the Tenant's headless Service `<tenant>-hl`."""


class ConfigError(Exception):
    """The configuration is invalid; `str()` lists each problem with its field and position."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvCredentials(_Model):
    """MinIO keys read from two environment variables (the YAML names the variables)."""

    access_key_env: str
    secret_key_env: str


class SecretCredentials(_Model):
    """MinIO keys read from a Kubernetes Secret.

    `format: keys` reads two data keys; `format: config.env` reads the operator's
    `config.env` (`export MINIO_ROOT_USER=...` lines).
    """

    secret: str
    namespace: str | None = None
    format: Literal["keys", "config.env"] = "config.env"
    access_key_key: str = "accesskey"
    secret_key_key: str = "secretkey"  # noqa: S105 - the name of a key in the Secret, not a secret


class FileCredentials(_Model):
    """MinIO keys read from files (a mounted Kubernetes Secret volume, or the sandbox's state folder)."""

    access_key_file: str
    secret_key_file: str


Credentials = EnvCredentials | SecretCredentials | FileCredentials


class KubernetesTenantRef(_Model):
    """Where the Tenant resource lives."""

    cluster: str = "default"
    namespace: str
    tenant: str | None = None  # defaults to the tenant's own name


class Thresholds(_Model):
    """Capacity thresholds in percent of usable capacity."""

    plan: float = Field(70, gt=0, le=100)
    alert: float = Field(80, gt=0, le=100)
    critical: float = Field(90, gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.plan <= self.alert <= self.critical:
            raise ValueError("thresholds must satisfy plan <= alert <= critical")
        return self


class ApprovalRule(_Model):
    """Who may approve one action kind, and how many approvals it needs."""

    approvers: list[str] = Field(default_factory=list)  # user ids (U...) and user group ids (S...)
    required: int = Field(1, ge=1, le=5)
    expiry_minutes: int = Field(30, ge=1, le=24 * 60)

    @field_validator("approvers")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        return [_slack_principal(v) for v in value]


class ClusterApprovals(ApprovalRule):
    """Who approves changes to a whole cluster (its operator), how many, and where the card goes.

    Required for `/minio update operator ...`: the operator manages every
    Tenant on the cluster, so its changes are governed here, never by the rule
    of one tenant. The card always goes to `channel`, where these approvers are.
    """

    required: int = Field(2, ge=1, le=5)
    channel: str

    @field_validator("approvers")
    @classmethod
    def _someone(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one approver (users U... or user groups S...)")
        return [_slack_principal(v) for v in value]

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _channel_id(value)


class ProbeSettings(_Model):
    """The canary used by the performance probe."""

    bucket: str = "minio-chatops-probe"
    warn_ms: float = Field(200, gt=0)
    critical_ms: float = Field(1000, gt=0)


class BackupTarget(_Model):
    """Where this tenant's backups land, and how old the newest may be."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None  # another S3/MinIO endpoint; default: the tenant itself
    credentials: Credentials | None = None
    rpo_hours: float = Field(24, gt=0)
    # Scheduled verification (the leader; 0: on demand only). Daily by default: with the default 24 h RPO a
    # backup job that stopped is reported within a day of crossing the RPO, and reading back a handful of
    # objects a day costs little; the weekly runbook check is the least a team should do, not the best.
    verify_every_hours: float = Field(24, ge=0, le=24 * 31)


class TargetVersions(_Model):
    """The versions a tenant should run, set by people (no internet is assumed); `update check` compares."""

    minio: str | None = None  # a MinIO release tag, e.g. RELEASE.2025-09-07T16-13-09Z
    operator: str | None = None  # an operator image tag, e.g. v7.1.1


class RolloutSettings(_Model):
    """How long the bot follows a change it executed (upgrade, new pool, resize, restart, decommission).

    At most 55 minutes: the approval engine treats an execution older than an
    hour as left behind by a dead process. Longer work (a big decommission)
    goes on without the bot; `/minio scale <tenant> decommission <pool> --status` follows it.
    """

    timeout_minutes: float = Field(45, gt=0, le=55)
    poll_seconds: float = Field(10, gt=0, le=600)


def _image_sources(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    for entry in value:
        if not _IMAGE_SOURCE.match(entry):
            raise ValueError(
                f"{entry!r} is not an image source: give a registry with a trailing slash (quay.io/), a "
                "repository prefix (quay.io/minio/) or a repository (quay.io/minio/minio), lower-case, "
                "without tag or digest"
            )
    return value


class OperatorRef(_Model):
    """Where the MinIO Operator Deployment of a cluster runs, and where its images may come from."""

    namespace: str = "minio-operator"
    deployment: str = "minio-operator"
    # Registries/repositories `/minio update operator <image>` may switch to (see TenantConfig.allowed_images).
    # None: only the repositories the Deployment runs now.
    allowed_images: list[str] | None = None

    @field_validator("allowed_images")
    @classmethod
    def _allowed_images(cls, value: list[str] | None) -> list[str] | None:
        return _image_sources(value)


class TenantConfig(_Model):
    """One MinIO tenant the bot operates."""

    name: str
    kubernetes: KubernetesTenantRef | None = None
    endpoints: list[str] = Field(default_factory=list)  # static MinIO endpoints, node 1 first
    # Whether each static endpoint is one server (`per-node`) or a load balancer in front of several
    # (`load-balanced`: per-node verdicts such as "node 3 can be taken down" are refused, never guessed).
    # Default: per-node for a list of several endpoints, load-balanced for a single one.
    endpoints_mode: Literal["per-node", "load-balanced"] | None = None
    region: str = "us-east-1"
    credentials: Credentials | None = None
    channels: list[str] = Field(default_factory=list)  # channel ids that may see this tenant
    operators: list[str] = Field(default_factory=list)  # who may request changes (users or groups)
    # Who is invited into this tenant's incident channels (users or groups) and may declare incidents and
    # invite others there. Empty: the operators and every approver.
    responders: list[str] = Field(default_factory=list)
    approvals: dict[str, ApprovalRule] = Field(default_factory=dict)
    approval_channel: str | None = None
    # Whether `/minio maintenance <tenant> disable` needs an approval like `enable` (default) or runs at once.
    approve_maintenance_disable: bool = True
    thresholds: Thresholds = Thresholds()
    probe: ProbeSettings = ProbeSettings()
    backup: BackupTarget | None = None
    ca_file: str | None = None
    # Optional capacity history source: range queries over MinIO's v2 cluster metrics instead of the store.
    prometheus_url: str | None = None
    # Name of the environment variable holding a bearer token for `prometheus_url` (the token itself never
    # goes in the YAML); None: Prometheus is queried without authentication.
    prometheus_token_env: str | None = None
    prometheus_selector: str = ""  # label matchers that pick this tenant's series, e.g. 'job="minio-demo"'
    target_versions: TargetVersions = TargetVersions()  # what `/minio update <tenant> check` compares against
    # Registries/repositories `/minio update <tenant> tenant <image>` may switch to: `quay.io/` (a registry),
    # `quay.io/minio/` (a prefix) or `quay.io/minio/minio` (one repository). None: only the repository the
    # Tenant runs now, so a switch to another registry needs a configuration change first.
    allowed_images: list[str] | None = None
    rollout: RolloutSettings = RolloutSettings()  # how long scaling and upgrades are followed after execution
    # The most keys one `/minio data <tenant> restore <bucket>/<prefix> --prefix` may restore; beyond it the
    # preview refuses (restore a narrower prefix, or use an S3 client).
    restore_prefix_limit: int = Field(1000, ge=1, le=100_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _DNS_NAME.match(value) or len(value) > 63:
            raise ValueError("tenant names are lower-case DNS labels (a-z, 0-9, '-')")
        return value

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.match(r"^https?://[^/\s]+$", url):
                raise ValueError(f"endpoint {url!r} must look like http(s)://host:port")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return [_channel_id(v) for v in value]

    @field_validator("prometheus_url")
    @classmethod
    def _prometheus_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value):
            raise ValueError(f"prometheus_url {value!r} must look like http(s)://host:port[/path]")
        return value.rstrip("/") if value else value

    @field_validator("prometheus_token_env")
    @classmethod
    def _prometheus_token_env(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            # The value is not echoed: a token pasted here by mistake must not reach the logs.
            raise ValueError("prometheus_token_env must be the NAME of an environment variable, not the token")
        return value

    @field_validator("prometheus_selector")
    @classmethod
    def _prometheus_selector(cls, value: str) -> str:
        # Matchers only (no braces, no query language): they are pasted inside `metric{...}`.
        if value and not _PROM_MATCHERS.match(value):
            raise ValueError('prometheus_selector must be label matchers like job="minio-demo"')
        return value

    @field_validator("operators", "responders")
    @classmethod
    def _principals(cls, value: list[str]) -> list[str]:
        return [_slack_principal(v) for v in value]

    @field_validator("allowed_images")
    @classmethod
    def _allowed_images(cls, value: list[str] | None) -> list[str] | None:
        return _image_sources(value)

    @field_validator("approvals")
    @classmethod
    def _kinds(cls, value: dict[str, ApprovalRule]) -> dict[str, ApprovalRule]:
        for kind in value:
            if kind in CLUSTER_ACTION_KINDS:
                raise ValueError(
                    f"{kind!r} changes the whole cluster, so a tenant cannot govern it: move this rule to "
                    "`approvals` of the cluster under `clusters` (approvers, required, channel)"
                )
            if kind not in TENANT_ACTION_KINDS:
                raise ValueError(f"unknown action kind {kind!r}; known: {', '.join(TENANT_ACTION_KINDS)}")
        return value

    @model_validator(mode="after")
    def _has_target(self) -> TenantConfig:
        if self.kubernetes is None and not self.endpoints:
            raise ValueError("a tenant needs `kubernetes` (a Tenant reference) or `endpoints` (static)")
        if self.endpoints and self.credentials is None:
            raise ValueError("a tenant with static endpoints needs `credentials`")
        if self.endpoints_mode is not None and not self.endpoints:
            raise ValueError("endpoints_mode describes static `endpoints`; this tenant has none")
        return self

    @property
    def per_node_endpoints(self) -> bool:
        """True when each static endpoint is one MinIO server (see `endpoints_mode`)."""
        if self.endpoints_mode is not None:
            return self.endpoints_mode == "per-node"
        return len(self.endpoints) > 1

    @property
    def incident_responders(self) -> list[str]:
        """Who an incident of this tenant brings in: `responders`, else the operators and every approver."""
        if self.responders:
            return list(self.responders)
        approvers = [p for rule in self.approvals.values() for p in rule.approvers]
        return list(dict.fromkeys([*self.operators, *approvers]))

    def approval_rule(self, kind: str) -> ApprovalRule:
        """The rule for one of the tenant's action kinds (one approval by an admin when none is configured)."""
        return self.approvals.get(kind) or ApprovalRule()

    @property
    def tenant_name(self) -> str:
        """The Kubernetes Tenant name (defaults to the configured name)."""
        return (self.kubernetes.tenant if self.kubernetes else None) or self.name


class ReportSchedule(_Model):
    """When a channel gets its daily report."""

    cron: str = "0 9 * * *"
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)") from None
        return value

    checklist: bool = False  # also post the daily runbook checklist, right after the report

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("cron needs five fields: minute hour day month weekday")
        try:  # the scheduler parses it the same way; fail at start, not at 09:00
            crontab_trigger(value)
        except ValueError as exc:
            raise ValueError(f"invalid cron {value!r}: {exc}") from None
        return value


class ChannelConfig(_Model):
    """A Slack channel the bot serves."""

    id: str
    name: str | None = None
    report: ReportSchedule | None = None
    alerts_to: str | None = None  # channel id that receives this channel's alerts; default itself
    # Gone: an incident brings in the responders of its tenant (`tenants[].responders`), not of the
    # channel it was declared in. Kept only to say so instead of "extra inputs are not permitted".
    responders: list[str] = Field(default_factory=list)

    @field_validator("id", "alerts_to")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return None if value is None else _channel_id(value)

    @field_validator("responders")
    @classmethod
    def _no_responders(cls, value: list[str]) -> list[str]:
        if value:
            raise ValueError("responders belong to the tenant now: move them to tenants[].responders "
                             "(incident channels invite the tenant's responders, not the channel's)")
        return value


class AlertLabels(_Model):
    """How an Alertmanager alert names its tenant and node: for each role, the label names tried in order.

    Prometheus label names cannot hold `.` or `/`: the pod label `v1.min.io/tenant` usually arrives
    relabelled as `v1_min_io_tenant` (or as `tenant`).
    """

    match: dict[str, str] = Field(default_factory=dict)  # labels that mark an alert as this cluster's; {}: any
    tenant: list[str] = Field(default_factory=lambda: ["tenant", "v1_min_io_tenant"])
    namespace: list[str] = Field(default_factory=lambda: ["namespace", "kubernetes_namespace"])
    node: list[str] = Field(default_factory=lambda: ["pod", "instance", "server"])


class ClusterConfig(_Model):
    """A Kubernetes cluster: a kubeconfig (and context) or the in-cluster service account."""

    name: str = "default"
    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False
    namespaces: list[str] | None = None  # None: discover Tenants in all namespaces
    discover: bool = True  # list Tenants found there next to the configured ones
    channels: list[str] = Field(default_factory=list)  # channels that see discovered tenants
    operator: OperatorRef = OperatorRef()  # the MinIO Operator Deployment `/minio update operator` changes
    # Who may request changes to the whole cluster (the operator): users or groups; bot admins always may.
    operators: list[str] = Field(default_factory=list)
    # Who approves them and where the card goes; None: operator upgrades and rollbacks are refused.
    approvals: ClusterApprovals | None = None
    rollout: RolloutSettings = RolloutSettings()  # how long an operator upgrade or rollback is followed
    # How the bot reaches each MinIO pod of a Tenant without static `endpoints`: by its stable name
    # through the Tenant's headless Service. {scheme} is https when the Tenant has TLS (requestAutoCert,
    # on by default, or externalCertSecret), {port} is MinIO's pod port (9000); {pod}, {pool},
    # {tenant} and {namespace} are filled in. Another cluster domain: edit the template. From outside
    # the cluster, keep the names and map them with the top-level `resolve` (e.g. to port-forwards).
    pod_url: str = DEFAULT_POD_URL
    # Instead of one endpoint per pod, reach Tenants through ONE load-balanced URL (an ingress, the
    # operator's `minio` Service); {namespace} and {tenant} are filled in. Per-node verdicts (liveness
    # per node, "safe to take node 3 down?") are then refused as unavailable, never guessed.
    minio_url: str | None = None
    # How Alertmanager alerts from this cluster name a tenant (default: `alertmanager.labels`).
    alert_labels: AlertLabels | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return [_channel_id(v) for v in value]

    @field_validator("operators")
    @classmethod
    def _operators(cls, value: list[str]) -> list[str]:
        return [_slack_principal(v) for v in value]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # Stored requests and snapshots are filed under `cluster:<name>` / `operator:<name>` (63 characters).
        if not value or len(value) > 54 or any(c.isspace() for c in value):
            raise ValueError("cluster names are 1 to 54 characters without spaces")
        return value

    @field_validator("pod_url")
    @classmethod
    def _pod_url(cls, value: str) -> str:
        sample = {"scheme": "https", "pod": "t-pool-0-0", "pool": "pool-0", "tenant": "t", "namespace": "ns",
                  "port": 9000}
        try:
            url = value.format(**sample)
        except (KeyError, IndexError, ValueError):
            raise ValueError(
                "pod_url may only use {scheme}, {pod}, {pool}, {tenant}, {namespace} and {port}"
            ) from None
        if "{pod}" not in value:
            raise ValueError("pod_url must contain {pod}: each pod needs its own address")
        if not re.match(r"^https?://[^/\s]+$", url):
            raise ValueError("pod_url must look like http(s)://host[:port]")
        return value

    @field_validator("minio_url")
    @classmethod
    def _minio_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = value.format(namespace="ns", tenant="t")
        except (KeyError, IndexError, ValueError):
            raise ValueError("minio_url may only use {namespace} and {tenant}") from None
        if not re.match(r"^https?://[^/\s]+$", url):
            raise ValueError("minio_url must look like http(s)://host[:port]")
        return value


class TimeoutConfig(_Model):
    """The one network timeout policy (seconds)."""

    connect: float = Field(2.0, gt=0, le=60)
    read: float = Field(5.0, gt=0, le=300)
    probe: float = Field(2.0, gt=0, le=60)
    # Above MinIO's own 10 s peer wait in `admin info` (plus the client's hedge): with a
    # shorter deadline one hung node turns into "no node answered" (bot/clients/timeouts.py).
    report_deadline: float = Field(12.0, gt=0, le=120)


class SlackConfig(_Model):
    """Where the Slack Web API is and how the bot listens."""

    mode: Literal["auto", "socket", "http"] = "auto"
    api_url: str | None = None  # only for the simulator; default Slack's public API
    http_host: str = "0.0.0.0"  # noqa: S104 - the pod must listen on its own IP
    http_port: int = Field(3000, ge=0, le=65535)  # 0: any free port
    workers: int = Field(16, ge=1, le=256)
    queue: int = Field(1000, ge=1)
    usergroup_cache_seconds: int = Field(300, ge=0)
    # When set, HTTP requests from any other workspace / Slack app are refused (403), even if signed.
    team_id: str | None = None  # the workspace id, T...
    app_id: str | None = None  # the Slack app id, A...

    @field_validator("team_id")
    @classmethod
    def _team_id(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_TEAM.match(value):
            raise ValueError(f"{value!r} is not a Slack workspace id (T...)")
        return value

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_APP.match(value):
            raise ValueError(f"{value!r} is not a Slack app id (A...)")
        return value


class IncidentsConfig(_Model):
    """Incident channels (`/minio incident declare`)."""

    # Private (default): only the people the bot invites are in the channel. Public: anyone in the workspace
    # can read the channel (commands there still work only for the people the bot let in, and IAM users,
    # policies and pod log tails are never posted there).
    private: bool = True


class LeaderElectionConfig(_Model):
    """Several replicas: a Kubernetes Lease picks the one that runs the scheduler (all serve commands)."""

    cluster: str | None = None  # the `clusters` entry whose API holds the Lease; default the first
    namespace: str | None = None  # default $POD_NAMESPACE, the service account's namespace, or "default"
    name: str = "minio-chatops-leader"
    lease_seconds: int = Field(15, ge=2, le=300)


class SchedulerConfig(_Model):
    """Background jobs (run by the leader only)."""

    enabled: bool = True
    alert_check_minutes: float = Field(3, gt=0, le=24 * 60)
    snapshot_minutes: float = Field(60, gt=0, le=24 * 60)
    # How often the leader looks for tenants whose backup verification is due (backup.verify_every_hours).
    backup_check_minutes: float = Field(15, gt=0, le=24 * 60)
    approval_sweep_seconds: float = Field(60, ge=1, le=3600)
    catch_up_hours: float = Field(12, ge=0, le=48)  # a report missed during downtime is sent late within this
    store_retry_seconds: float = Field(60, gt=0, le=3600)  # retry a report whose claim hit a store outage
    # A report Slack did not take is retried after this, doubling up to report_retry_max_seconds, until
    # catch_up_hours after its time; then the channel is told it could not be delivered.
    report_retry_seconds: float = Field(30, gt=0, le=3600)
    report_retry_max_seconds: float = Field(600, gt=0, le=6 * 3600)
    # How long one attempt holds its slot: a sender that crashed is taken over after this.
    report_attempt_seconds: float = Field(300, gt=0, le=3600)
    parallel: int = Field(8, ge=1, le=64)  # tenants gathered at once for a report, snapshot or alert check


class AlertmanagerConfig(_Model):
    """Alert-driven incidents: Alertmanager's webhook (`/alertmanager`) and its API v2 for silences.

    The webhook's bearer token is `ALERTMANAGER_WEBHOOK_TOKEN` (environment or Secret), never the YAML.
    """

    url: str | None = None  # Alertmanager's base URL, for silences (e.g. http://alertmanager.monitoring:9093)
    token_env: str | None = None  # name of the env variable with a bearer token for `url`, if it needs one
    fallback_channel: str | None = None  # alerts that map to no tenant are posted here once, with the reason
    labels: AlertLabels = AlertLabels()  # for static tenants and clusters without their own `alert_labels`
    silence_hours: list[float] = Field(default_factory=lambda: [1.0, 4.0, 24.0], min_length=1, max_length=4)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value):
            raise ValueError(f"alertmanager.url {value!r} must look like http(s)://host:port[/path]")
        return value.rstrip("/") if value else value

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError("token_env must be the NAME of an environment variable, not the token")
        return value

    @field_validator("fallback_channel")
    @classmethod
    def _fallback(cls, value: str | None) -> str | None:
        return None if value is None else _channel_id(value)

    @field_validator("silence_hours")
    @classmethod
    def _hours(cls, value: list[float]) -> list[float]:
        if any(h <= 0 or h > 24 * 14 for h in value):
            raise ValueError("silence_hours are between 0 and 336 (two weeks)")
        return value


class ExecutionsConfig(_Model):
    """Approved changes: how many run at once (apart from commands) and how a stopped bot's are found again."""

    workers: int = Field(4, ge=1, le=64)  # changes running at once, on threads of their own
    # A running change's lease, renewed every third of this; the leader resumes one not renewed for this long.
    lease_seconds: float = Field(30, ge=1, le=600)

    @property
    def check_seconds(self) -> float:
        """How often the leader looks for expired leases: a resume comes at most this long after the expiry."""
        return min(5.0, max(0.5, self.lease_seconds / 6))


class Config(_Model):
    """The whole bot configuration."""

    admins: list[str] = Field(default_factory=list)
    slack: SlackConfig = SlackConfig()
    # /metrics on its own port, so a NetworkPolicy can admit Prometheus there and Slack on slack.http_port.
    metrics_port: int = Field(9102, ge=0, le=65535)  # 0: any free port
    store_url: str = "sqlite:///minio-chatops.db"
    timeouts: TimeoutConfig = TimeoutConfig()
    clusters: list[ClusterConfig] = Field(default_factory=list)
    tenants: list[TenantConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    severity_minutes: dict[str, int] = Field(default_factory=lambda: {"P1": 15, "P2": 60, "P3": 240})
    incidents: IncidentsConfig = IncidentsConfig()
    audit_channel: str | None = None  # channel id that also receives every audit event, one line each
    scheduler: SchedulerConfig = SchedulerConfig()
    executions: ExecutionsConfig = ExecutionsConfig()
    leader_election: LeaderElectionConfig | None = None  # None: this process is the only one (always leader)
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    # MinIO connections to these names go to other addresses, like `curl --resolve`: `host[:port]` ->
    # `address[:port]`. The name stays in the Host header, TLS SNI and certificate checks. For pod names
    # reached from outside the cluster (port-forwards) and for the sandbox's simulator.
    resolve: dict[str, str] = Field(default_factory=dict)

    @field_validator("resolve")
    @classmethod
    def _resolve(cls, value: dict[str, str]) -> dict[str, str]:
        from bot.clients.timeouts import split_host_port

        for name, address in value.items():
            for text, what in ((name, "name"), (address, "address")):
                try:
                    host, _port = split_host_port(text)
                except ValueError as exc:
                    raise ValueError(f"resolve {what} {exc}") from None
                if not host or not re.match(r"^[A-Za-z0-9.\-\[\]:]+$", host):
                    raise ValueError(f"resolve {what} {text!r} must look like host[:port]")
        return value

    @field_validator("severity_minutes")
    @classmethod
    def _severities(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = set(value) - {"P1", "P2", "P3"}
        if unknown:
            raise ValueError(f"severities are P1, P2 and P3 (not {', '.join(sorted(unknown))})")
        return {"P1": 15, "P2": 60, "P3": 240} | value

    @field_validator("admins")
    @classmethod
    def _admins(cls, value: list[str]) -> list[str]:
        return [_slack_principal(v) for v in value]

    @field_validator("audit_channel")
    @classmethod
    def _audit_channel(cls, value: str | None) -> str | None:
        return None if value is None else _channel_id(value)

    @model_validator(mode="after")
    def _references(self) -> Config:
        names = [t.name for t in self.tenants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"tenant names must be unique: {', '.join(dupes)}")
        clusters = {c.name for c in self.clusters}
        for tenant in self.tenants:
            if tenant.kubernetes and tenant.kubernetes.cluster not in clusters:
                raise ValueError(
                    f"tenant {tenant.name!r} refers to cluster {tenant.kubernetes.cluster!r}, "
                    f"which is not under `clusters`"
                )
        configured_channels = {c.id for c in self.channels}
        for cluster in self.clusters:
            if cluster.approvals is not None and cluster.approvals.channel not in configured_channels:
                raise ValueError(
                    f"cluster {cluster.name!r}: approvals.channel {cluster.approvals.channel} is not under `channels` "
                    "(the bot answers only configured channels, so nobody could approve there)"
                )
        if self.metrics_port and self.metrics_port == self.slack.http_port:
            raise ValueError("metrics_port must differ from slack.http_port")
        election = self.leader_election
        if election is not None:
            if not self.clusters:
                raise ValueError("leader_election needs a Kubernetes cluster under `clusters` to hold its Lease")
            if election.cluster is not None and election.cluster not in clusters:
                raise ValueError(f"leader_election.cluster {election.cluster!r} is not under `clusters`")
        return self

    def tenant(self, name: str) -> TenantConfig | None:
        """The configured tenant called `name`, if any."""
        return next((t for t in self.tenants if t.name == name), None)

    def channel(self, channel_id: str) -> ChannelConfig | None:
        """The configured channel with this id, if any."""
        return next((c for c in self.channels if c.id == channel_id), None)

    def cluster(self, name: str) -> ClusterConfig | None:
        """The configured cluster called `name`, if any."""
        return next((c for c in self.clusters if c.name == name), None)


class Secrets(BaseSettings):
    """Secrets and deployment settings from the environment, never from the YAML."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    minio_chatops_store_url: SecretStr | None = None  # a PostgreSQL URL carries a password
    alertmanager_webhook_token: SecretStr | None = None  # what Alertmanager sends as `Authorization: Bearer`

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def _slack_principal(value: str) -> str:
    if not (_SLACK_USER.match(value) or _SLACK_GROUP.match(value)):
        raise ValueError(f"{value!r} is not a Slack user id (U...) or user group id (S...)")
    return value


def _channel_id(value: str) -> str:
    if not _SLACK_CHANNEL.match(value):
        raise ValueError(f"{value!r} is not a Slack channel id (C...); use the id, not the #name")
    return value


_SECRET_WORDS = re.compile(r"(secret|password|token|access_?key|private)", re.I)


def _yaml_positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    """Map each key path in the YAML to its 1-based (line, column)."""
    positions: dict[tuple[str | int, ...], tuple[int, int]] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                positions[child] = (key.start_mark.line + 1, key.start_mark.column + 1)
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return positions


def _where(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problems(error: ValidationError, positions: dict[tuple[str | int, ...], tuple[int, int]]) -> Iterator[str]:
    for item in error.errors():
        # Union members add their class name to the location; drop those parts.
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p[:1].isupper()))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            field = str(loc[-1]) if loc else ""
            message = (
                "secrets must not be written in the config file; reference an environment variable "
                "or a Kubernetes Secret instead"
                if _SECRET_WORDS.search(field)
                else "unknown field"
            )
        position = ""
        probe = loc
        while probe and probe not in positions:
            probe = probe[:-1]
        if probe in positions:
            line, column = positions[probe]
            position = f" (line {line}, column {column})"
        yield f"{_where(loc)}: {message}{position}"


def parse_config(text: str, source: str = "<config>") -> Config:
    """Validate YAML text into a Config, raising ConfigError with every problem found."""
    try:
        data = yaml.safe_load(text) or {}
        positions = _yaml_positions(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError([f"{source}: not valid YAML{where}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(list(_problems(exc, positions))) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the YAML file at `path`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read ({exc.strerror})"]) from None
    return parse_config(text, str(file))
