"""The sandbox: every stand-in the bot talks to, started together on loopback.

- a MinIO cluster simulator holding a demo tenant (always);
- a real kube-apiserver + etcd with a demo Tenant world (when the binaries are
  built: `sandbox/kube/build-testbin.sh`), reconciled by the operator stand-in
  (`sandbox/kube/operator.py`): new pools get StatefulSets and pods, image
  changes roll (and move the simulator's nodes to the new version), and a
  pool the operator would reject gets its error in `status.currentState`;
- a Slack simulator with demo users and channels (for `demo`; the shell does
  not need one);
- Prometheus with the shipped MinIO rules and Alertmanager routing to the bot
  (for `demo`, when Debian's `prometheus` and `prometheus-alertmanager` are
  installed; see `sandbox/alerting.py`).

It writes a configuration file for the bot (and key files it refers to) into a
state folder, so a second process (`shell --config`) can use the same sandbox.

With the control plane, the demo tenant is a Kubernetes Tenant reached the way
the bot reaches one in a cluster: each pod by its stable name through the
headless Service, with the root keys read from the operator's configuration
Secret. The config's `resolve` map sends each pod name to the simulator node
that plays that pod (real HTTP to the node's port).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config import Config, parse_config
from sandbox.history import seed_sandbox_history
from sandbox.minio_sim.demo import BACKUP_BUCKET, BACKUP_PREFIX

log = logging.getLogger("minio_chatops.sandbox")

DEMO_TENANT = "demo"
DEMO_NAMESPACE = "minio-demo"
DEMO_USERS = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL"}
SANDBOX_CHANNEL = "C0SANDBOX"  # used when there is no Slack simulator (the shell)


def kube_binaries_available() -> bool:
    """True when kube-apiserver and etcd are built in the cache folder."""
    from sandbox.kube.controlplane import BinariesMissing, find_binaries

    try:
        find_binaries()
    except BinariesMissing:
        return False
    return True


@dataclass
class Sandbox:
    """Starts and stops the stand-ins and writes a bot configuration pointing at them."""

    state_dir: Path | None = None
    with_kube: bool | None = None  # None: when the binaries are built
    with_slack: bool = False
    with_alerting: bool = False  # Prometheus + Alertmanager, when installed; started by `start_alerting`
    alert_for_s: float = 10.0  # the shipped rules' `for:`, shortened for a demo
    scanner_interval: float = 5.0
    minio: Any = None
    kube: Any = None
    slack: Any = None
    alerting: Any = None
    config_path: Path | None = None
    channel: str = SANDBOX_CHANNEL
    _owns_state: bool = False
    _kubeconfig: Path | None = None
    _world: Any = None
    _operator: Any = None
    notes: list[str] = field(default_factory=list)

    def start(self) -> Sandbox:
        """Start every stand-in and write the config; on failure, stop what was started."""
        from sandbox.minio_sim import SimCluster

        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="minio-chatops-sandbox-"))
            self._owns_state = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            access_key = "demo-admin"
            secret_key = secrets.token_urlsafe(24)
            self.minio = SimCluster(
                pools=[(4, 2)],
                access_key=access_key,
                secret_key=secret_key,
                scanner_interval=self.scanner_interval,
                prometheus_auth="jwt",
            )
            self.minio.start()
            self.minio.load_demo_data()
            self.minio.run_scanner()
            self._write_keys(access_key, secret_key)
            if self.with_slack:
                from sandbox.slack_sim import SlackSim

                self.slack = SlackSim().start()
                self.channel = self.slack.seed_demo()["ops"]
            if self.with_alerting:
                from sandbox.alerting import SandboxAlerting, installed

                if installed():
                    self.alerting = SandboxAlerting(for_s=self.alert_for_s)
                else:
                    self.notes.append("Prometheus and Alertmanager not started: "
                                      "apt-get install -y prometheus prometheus-alertmanager")
            use_kube = kube_binaries_available() if self.with_kube is None else self.with_kube
            if use_kube:
                self._start_kube()
            elif self.with_kube is None:
                self.notes.append(
                    "Kubernetes control plane not started: build it with `sandbox/kube/build-testbin.sh`."
                )
            self.config_path = self.state_dir / "config.yaml"
            self.config_path.write_text(yaml.safe_dump(self.config_dict(), sort_keys=False), encoding="utf-8")
            seed_sandbox_history(self.config, DEMO_TENANT)  # a week of capacity history to forecast from
        except BaseException:
            self.stop()
            raise
        return self

    def _write_keys(self, access_key: str, secret_key: str) -> None:
        assert self.state_dir is not None
        for name, value in (("access_key", access_key), ("secret_key", secret_key)):
            path = self.state_dir / name
            path.write_text(value, encoding="utf-8")
            path.chmod(0o600)

    def _start_kube(self) -> None:
        from sandbox.kube.controlplane import ControlPlane
        from sandbox.kube.operator import OperatorStandIn
        from sandbox.kube.world import PoolSpec, TenantWorld, ensure_operator

        assert self.state_dir is not None
        self.kube = ControlPlane.start(workdir=self.state_dir / "kube")
        from sandbox.kube import install_crds

        api = self.kube.api_client()
        install_crds(api)
        ensure_operator(api)
        self._world = TenantWorld(
            namespace=DEMO_NAMESPACE,
            name=DEMO_TENANT,
            pools=[PoolSpec("pool-0", servers=4, volumes_per_server=2, size="1Ti")],
            # The operator's configuration Secret holds the simulator's root keys.
            root_user=self.minio.access_key,
            root_password=self.minio.secret_key,
        ).apply(api)
        self._operator = OperatorStandIn(
            api, namespaces=[DEMO_NAMESPACE], interval_s=1.0, on_pod_rolled=self._pod_rolled
        ).start()
        self._kubeconfig = self.kube.write_kubeconfig(self.state_dir / "kubeconfig")

    def _pod_rolled(self, pod: Any) -> None:
        """A rollout replaced a pod: the simulator node playing it now runs the image's release."""
        from sandbox.kube.operator import image_tag

        number = simulator_node(self._world, pod.pool, pod.ordinal)
        if number is not None and number <= len(self.minio.endpoints):
            self.minio.set_version(number, image_tag(pod.image))

    def config_dict(self) -> dict[str, Any]:
        """The bot configuration for this sandbox, as YAML-ready data."""
        assert self.state_dir is not None
        tenant: dict[str, Any] = {
            "name": DEMO_TENANT,
            "endpoints": list(self.minio.endpoints),
            "credentials": {
                "access_key_file": str(self.state_dir / "access_key"),
                "secret_key_file": str(self.state_dir / "secret_key"),
            },
            "channels": [self.channel],
            "operators": [DEMO_USERS["alice"], DEMO_USERS["bob"]],
            "approvals": {
                kind: {"approvers": [DEMO_USERS["alice"], DEMO_USERS["bob"]]}
                for kind in ("scale", "maintenance", "update", "rollback", "pod-delete", "restore", "protection",
                             "security", "perf")
            },
            "probe": {"bucket": "probe"},
            # A mirror of the tenant's buckets under backups/mirror/ (seeded by the demo data).
            "backup": {"bucket": BACKUP_BUCKET, "prefix": BACKUP_PREFIX, "rpo_hours": 24},
            # The sandbox's changes finish in seconds (operator stand-in); stop following them soon.
            "rollout": {"timeout_minutes": 2},
        }
        config: dict[str, Any] = {
            "admins": [DEMO_USERS["alice"]],
            "store_url": f"sqlite:///{self.state_dir / 'minio-chatops.db'}",
            "channels": [{"id": self.channel, "name": "ops", "report": {"cron": "0 9 * * *", "timezone": "UTC"}}],
            "tenants": [tenant],
        }
        if self.alerting is not None:
            config["alertmanager"] = {"url": self.alerting.url}
        if self.slack is not None:
            config["slack"] = {"api_url": self.slack.api_url, "mode": "http", "http_host": "127.0.0.1", "http_port": 0}
        if self.kube is not None and self._kubeconfig is not None:
            config["clusters"] = [
                {"name": "sandbox", "kubeconfig": str(self._kubeconfig), "namespaces": [DEMO_NAMESPACE],
                 "discover": False, "channels": [self.channel],
                 # The simulator speaks plain HTTP, although the demo Tenant declares a certificate.
                 "pod_url": SANDBOX_POD_URL,
                 # Operator upgrades are governed by the cluster: alice and bob request and approve them here.
                 "operators": [DEMO_USERS["alice"], DEMO_USERS["bob"]],
                 "approvals": {"approvers": [DEMO_USERS["alice"], DEMO_USERS["bob"]], "required": 1,
                               "channel": self.channel},
                 "rollout": {"timeout_minutes": 2}}
            ]
            tenant["kubernetes"] = {"cluster": "sandbox", "namespace": DEMO_NAMESPACE, "tenant": DEMO_TENANT}
            # Reached pod by pod, with the keys from the Tenant's configuration Secret.
            del tenant["endpoints"], tenant["credentials"]
            config["resolve"] = pod_resolve_map(self._world, self.minio)
        return config

    def start_alerting(self, webhook_url: str) -> None:
        """Start Prometheus and Alertmanager (routing to the bot at ``webhook_url``), once the bot listens."""
        if self.alerting is not None:
            assert self.state_dir is not None
            self.alerting.start(webhook_url, self.minio, DEMO_TENANT, self.state_dir)

    @property
    def config(self) -> Config:
        """The validated bot configuration."""
        return parse_config(yaml.safe_dump(self.config_dict()))

    def info(self) -> dict[str, Any]:
        """What a script needs to drive this sandbox (the `demo --detach` JSON line)."""
        out: dict[str, Any] = {"config": str(self.config_path), "pid": os.getpid()}
        if self.slack is not None:
            out["slack_url"] = self.slack.base_url
        if self.minio is not None:
            out["minio_control_url"] = self.minio.control_url
        if self._kubeconfig is not None:
            out["kubeconfig"] = str(self._kubeconfig)
        if self.alerting is not None and self.alerting.prometheus is not None:
            out["alertmanager_url"] = self.alerting.url
            out["prometheus_url"] = self.alerting.prometheus.url
        return out

    def stop(self) -> None:
        """Stop everything started; remove the state folder if this sandbox created it."""
        if self._operator is not None:
            with contextlib.suppress(Exception):
                self._operator.stop()
            self._operator = None
        for part in (self.alerting, self.slack, self.minio, self.kube):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        self.alerting = self.slack = self.minio = self.kube = None
        if self._owns_state and self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


SANDBOX_POD_URL = "http://{pod}.{tenant}-hl.{namespace}.svc.cluster.local:{port}"
"""The cluster default with plain HTTP: the simulator does not serve TLS."""


def pod_resolve_map(world: Any, minio: Any, pod_url: str = SANDBOX_POD_URL) -> dict[str, str]:
    """`resolve` entries sending each pod's per-pod address to the simulator node playing it.

    Pods in pool order, then ordinal, are nodes 1, 2, ... of the simulator (the
    order the bot numbers them in). A pod with no simulator node gets no entry:
    its name then does not resolve, and the bot says so for that pod.
    """
    from urllib.parse import urlsplit

    from bot.clients.minio_addresses import MINIO_POD_PORT

    resolve: dict[str, str] = {}
    pods = [(pool.name, pod) for pool in world.pools for pod in world.pod_names(pool)]
    for number, (pool, pod) in enumerate(pods[: len(minio.endpoints)], start=1):
        url = pod_url.format(
            scheme="http", pod=pod, pool=pool, tenant=world.name, namespace=world.namespace, port=MINIO_POD_PORT
        )
        resolve[urlsplit(url).netloc] = urlsplit(minio.node_url(number)).netloc
    return resolve


def simulator_node(world: Any, pool: str, ordinal: int) -> int | None:
    """The simulator node number playing pod ``ordinal`` of ``pool`` (pools in order, then ordinal; from 1)."""
    offset = 0
    for spec in world.pools:
        if spec.name == pool:
            return offset + ordinal + 1 if ordinal < spec.servers else None
        offset += spec.servers
    return None


def write_state(path: Path, info: dict[str, Any]) -> None:
    """Write the detach state file atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    tmp.replace(path)
