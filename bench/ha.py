"""High availability: three bot replicas, one Lease; kill the leader and measure the hand-over.

Everything runs on loopback: PostgreSQL (shared store), a real kube-apiserver +
etcd (the Lease), the Slack simulator, and three `minio-chatops run` processes
in HTTP mode. The bench waits for a leader, then SIGKILLs it while slash
commands keep arriving at the two survivors, and reports:

* ``handover_s``: from the kill until a survivor leads (target < lease + 2 s);
* ``lost_commands``: commands not acked within Slack's 3 s (target 0);
* ``metrics_p99_ms``: latency of ``GET /metrics`` on the replicas.

    python bench/ha.py [--lease 4] [--json]

`Replicas` is also what tests/test_leader_ha.py drives.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kubernetes import client  # noqa: E402

from sandbox.kube.controlplane import ControlPlane  # noqa: E402
from sandbox.slack_sim import SlackSim  # noqa: E402

OPS = "C0OPS"
ALICE = "U0ALICE"
LEASE_NAME = "minio-chatops-leader"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def lease_kubeconfig(plane: ControlPlane, namespace: str, path: Path) -> Path:
    """A kubeconfig for a service account that may only get/create/update Leases in `namespace`."""
    with plane.api_client() as api:
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        core.create_namespaced_service_account(namespace, client.V1ServiceAccount(
            metadata=client.V1ObjectMeta(name="minio-chatops")))
        rbac.create_namespaced_role(namespace, client.V1Role(
            metadata=client.V1ObjectMeta(name="minio-chatops-leader"),
            rules=[client.V1PolicyRule(api_groups=["coordination.k8s.io"], resources=["leases"],
                                       verbs=["get", "create", "update"])],
        ))
        rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="minio-chatops-leader"),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="minio-chatops-leader"),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="minio-chatops", namespace=namespace)],
        ))
    token = plane.mint_token(namespace, "minio-chatops")
    return plane.write_kubeconfig(path, token=token, namespace=namespace)


class Replicas:
    """N `minio-chatops run` processes sharing a PostgreSQL store, a Lease and the Slack simulator."""

    def __init__(
        self,
        workdir: Path,
        slack: SlackSim,
        plane: ControlPlane,
        store_url: str,
        *,
        count: int = 3,
        lease_seconds: int = 4,
        report_cron: str | None = None,
        namespace: str | None = None,
    ):
        self.workdir = workdir
        self.slack = slack
        self.plane = plane
        self.store_url = store_url
        self.count = count
        self.lease_seconds = lease_seconds
        self.report_cron = report_cron
        self.namespace = namespace or f"ha-{uuid.uuid4().hex[:8]}"
        self.ports = [free_port() for _ in range(count)]
        self.metrics_ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count

    def identity(self, index: int) -> str:
        return f"bot-{index}"

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def events_url(self, index: int) -> str:
        return f"{self.url(index)}/slack/events"

    def _config(self, index: int, kubeconfig: Path) -> Path:
        channel: dict[str, Any] = {"id": OPS}
        if self.report_cron:
            channel["report"] = {"cron": self.report_cron, "timezone": "UTC"}
        config = {
            "admins": [ALICE],
            "slack": {"api_url": self.slack.api_url, "mode": "http", "http_host": "127.0.0.1",
                      "http_port": self.ports[index], "workers": 8},
            "metrics_port": self.metrics_ports[index],
            "channels": [channel],
            "tenants": [],
            "clusters": [{"name": "default", "kubeconfig": str(kubeconfig), "discover": False}],
            "leader_election": {"namespace": self.namespace, "name": LEASE_NAME,
                                "lease_seconds": self.lease_seconds},
        }
        path = self.workdir / f"bot-{index}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self, timeout: float = 60.0) -> Replicas:
        """Create the namespace and RBAC, start every replica, wait until all answer /healthz."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.plane.api_client() as api:
            client.CoreV1Api(api).create_namespace(
                client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace)))
        kubeconfig = lease_kubeconfig(self.plane, self.namespace, self.workdir / "kubeconfig")
        for index in range(self.count):
            env = {
                **os.environ,
                "SLACK_BOT_TOKEN": self.slack.bot_token,
                "SLACK_SIGNING_SECRET": self.slack.signing_secret,
                "MINIO_CHATOPS_STORE_URL": self.store_url,
                "POD_NAME": self.identity(index),
                "LOG_LEVEL": "INFO",
            }
            env.pop("SLACK_APP_TOKEN", None)
            log = (self.workdir / f"bot-{index}.log").open("ab")
            self.procs[index] = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(self._config(index, kubeconfig))],
                env=env, stdout=log, stderr=log, cwd=ROOT,
            )
            log.close()
        deadline = time.monotonic() + timeout
        for index in range(self.count):
            while True:
                try:
                    with urllib.request.urlopen(f"{self.url(index)}/healthz", timeout=1):
                        break
                except OSError:
                    proc = self.procs[index]
                    if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                        log_file = self.workdir / f"bot-{index}.log"
                        raise RuntimeError(f"replica {index} did not start; see {log_file}") from None
                    time.sleep(0.1)
        return self

    def alive(self) -> list[int]:
        return [i for i, p in enumerate(self.procs) if p is not None and p.poll() is None]

    def metrics(self, index: int, timeout: float = 2.0) -> str:
        url = f"http://127.0.0.1:{self.metrics_ports[index]}/metrics"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return str(response.read().decode())

    def is_leader(self, index: int) -> bool:
        try:
            return "\nminio_chatops_leader 1.0" in self.metrics(index, timeout=1.0)
        except OSError:
            return False

    def leaders(self) -> list[int]:
        return [i for i in self.alive() if self.is_leader(i)]

    def wait_leader(self, timeout: float, among: list[int] | None = None) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [i for i in self.leaders() if among is None or i in among]
            if found:
                return found[0]
            time.sleep(0.05)
        raise TimeoutError(f"no leader within {timeout} s")

    def lease_holder(self) -> str | None:
        with self.plane.api_client() as api:
            lease = client.CoordinationV1Api(api).read_namespaced_lease(LEASE_NAME, self.namespace)
        spec = lease.spec
        return str(spec.holder_identity) if spec is not None and spec.holder_identity else None

    def kill(self, index: int) -> None:
        """SIGKILL: no release, no goodbye (a crashed pod)."""
        proc = self.procs[index]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM every live replica, then SIGKILL what is left."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def log_tail(self, index: int, lines: int = 40) -> str:
        path = self.workdir / f"bot-{index}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


class CommandLoad:
    """Slash commands at the given replicas, round robin, until stopped; counts acks over 3 s as lost."""

    def __init__(self, replicas: Replicas, targets: list[int], interval_s: float = 0.1, text: str = "/minio help"):
        self.replicas = replicas
        self.targets = targets
        self.interval_s = interval_s
        self.text = text
        self.sent = 0
        self.lost = 0
        self.acks_ms: list[float] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _one(self, index: int) -> None:
        driver = self.replicas.slack.driver(events_url=self.replicas.events_url(index))
        try:
            result = driver.slash(ALICE, OPS, self.text, timeout=3.0)
            ok, ack_s = result.ok, result.ack_s
        except Exception:  # noqa: BLE001 - a refused connection is a lost command too
            ok, ack_s = False, 3.0
        with self._lock:
            self.sent += 1
            if ok:
                self.acks_ms.append(ack_s * 1000)
            else:
                self.lost += 1

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            index = self.targets[turn % len(self.targets)]
            turn += 1
            worker = threading.Thread(target=self._one, args=(index,), daemon=True)
            worker.start()
            self._threads.append(worker)
            self._stop.wait(self.interval_s)

    def start(self) -> CommandLoad:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        time.sleep(self.interval_s)
        for worker in list(self._threads):
            worker.join(timeout=5)


def metrics_latency(replicas: Replicas, samples: int) -> list[float]:
    """Milliseconds per GET /metrics, spread over the live replicas."""
    out: list[float] = []
    live = replicas.alive()
    for n in range(samples):
        index = live[n % len(live)]
        began = time.perf_counter()
        replicas.metrics(index)
        out.append((time.perf_counter() - began) * 1000)
    return out


def run(lease_seconds: int, metric_samples: int) -> dict[str, Any]:
    from tests.fixtures.postgres import PostgresServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-ha-"))
    postgres = PostgresServer.create()
    plane = ControlPlane.start()
    slack = SlackSim().start()
    slack.seed_demo()
    replicas = Replicas(workdir, slack, plane, postgres.url(), lease_seconds=lease_seconds)
    try:
        replicas.start()
        began = time.monotonic()  # all replicas serving: the election itself (a cold start waits one lease)
        leader = replicas.wait_leader(timeout=lease_seconds * 3 + 10)
        first_leader_s = time.monotonic() - began
        time.sleep(1.0)
        steady = metrics_latency(replicas, metric_samples)
        survivors = [i for i in range(replicas.count) if i != leader]
        load = CommandLoad(replicas, survivors).start()
        time.sleep(1.0)
        killed_at = time.monotonic()
        replicas.kill(leader)
        successor = replicas.wait_leader(timeout=lease_seconds * 3, among=survivors)
        handover = time.monotonic() - killed_at
        during = metrics_latency(replicas, metric_samples // 4)
        time.sleep(2.0)
        load.stop()
        holder = replicas.lease_holder()
        latencies = steady + during
        return {
            "handover_s": round(handover, 2),
            "lost_commands": load.lost,
            "metrics_p99_ms": round(percentile(latencies, 99), 1),
            "metrics_p50_ms": round(statistics.median(latencies), 1),
            "commands_sent": load.sent,
            "ack_p99_ms": round(percentile(load.acks_ms, 99), 1) if load.acks_ms else None,
            "lease_seconds": lease_seconds,
            "first_leader_s": round(first_leader_s, 2),
            "lease_holder_after": holder,
            "successor": replicas.identity(successor),
        }
    finally:
        replicas.stop()
        slack.stop()
        plane.stop()
        postgres.destroy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lease", type=int, default=4, help="leaseDurationSeconds (default 4)")
    parser.add_argument("--metric-samples", type=int, default=400)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.lease, args.metric_samples)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"3 replicas, lease {figures['lease_seconds']} s "
              f"(first leader {figures['first_leader_s']} s after all served)")
        print(f"  hand-over after SIGKILL of the leader: {figures['handover_s']} s "
              f"(target < {figures['lease_seconds'] + 2} s); new leader {figures['successor']}")
        print(f"  slash commands during hand-over: {figures['commands_sent']} sent, "
              f"{figures['lost_commands']} lost (target 0), ack p99 {figures['ack_p99_ms']} ms")
        print(f"  GET /metrics p50 {figures['metrics_p50_ms']} ms, p99 {figures['metrics_p99_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
