"""Real Prometheus and Alertmanager (Debian's ``prometheus`` and ``prometheus-alertmanager``) for the sandbox.

Prometheus scrapes the MinIO simulator's v2 cluster metrics and evaluates the
SHIPPED rules (``deploy/prometheus/minio-rules.yaml``, only ``for:`` shortened);
Alertmanager routes every group to the bot's ``/alertmanager`` with a bearer
token. Both run on loopback ports with their own data folders and clustering
off, so several sandboxes (and tests) can run side by side. The demo, the tests
and ``bench/alerts.py`` start them through here.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_RULES = ROOT / "deploy" / "prometheus" / "minio-rules.yaml"
ALERTMANAGER_HINT = (
    "Alertmanager was not found on PATH (prometheus-alertmanager or alertmanager): "
    "apt-get install -y prometheus-alertmanager"
)
PROMETHEUS_HINT = "Prometheus was not found on PATH: apt-get install -y prometheus"


class NotInstalled(RuntimeError):
    """A binary the sandbox needs is missing; the text says how to install it."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alertmanager_binary() -> str:
    """Debian names it prometheus-alertmanager; upstream, alertmanager."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        raise NotInstalled(ALERTMANAGER_HINT)
    return binary


def installed() -> bool:
    """Whether Prometheus, promtool and Alertmanager are all on PATH."""
    try:
        alertmanager_binary()
    except NotInstalled:
        return False
    return bool(shutil.which("prometheus") and shutil.which("promtool"))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own http loopback URLs
        return json.loads(response.read())


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{what} did not become ready:\n" + log.read_text(errors="replace")[-2000:])


@dataclass
class Process:
    """A running server, its URL and its folder."""

    url: str
    process: subprocess.Popen[bytes]
    root: Path
    name: str

    def log(self) -> str:
        return (self.root / f"{self.name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class AlertmanagerProcess(Process):
    """Alertmanager, with the parts of its API v2 the tests read."""

    def silences(self) -> list[dict[str, Any]]:
        return list(_get_json(f"{self.url}/api/v2/silences"))

    def alerts(self) -> list[dict[str, Any]]:
        return list(_get_json(f"{self.url}/api/v2/alerts"))


class PrometheusProcess(Process):
    """Prometheus, with instant queries and its current alerts."""

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = _get_json(f"{self.url}/api/v1/query?query={urllib.parse.quote(expr)}")
        return list(data["data"]["result"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(_get_json(f"{self.url}/api/v1/alerts")["data"]["alerts"])


def start_alertmanager(
    webhook_url: str,
    token: str,
    *,
    port: int | None = None,
    group_by: Sequence[str] = ("alertname", "tenant"),
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "1h",
) -> AlertmanagerProcess:
    """Alertmanager routing every group to ``webhook_url`` with ``Authorization: Bearer <token>``."""
    binary = alertmanager_binary()
    root = Path(tempfile.mkdtemp(prefix="minio-chatops-am-"))
    config = {
        "route": {"receiver": "minio-chatops", "group_by": list(group_by), "group_wait": group_wait,
                  "group_interval": group_interval, "repeat_interval": repeat_interval},
        "receivers": [{"name": "minio-chatops", "webhook_configs": [{
            "url": webhook_url, "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
        }]}],
    }
    (root / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = port or free_port()
    log = root / "alertmanager.log"
    process = subprocess.Popen(
        [binary, f"--config.file={root / 'alertmanager.yml'}", f"--storage.path={root / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )
    server = AlertmanagerProcess(f"http://127.0.0.1:{port}", process, root, "alertmanager")
    _wait_ready(server.url, process, log, "Alertmanager", 20)
    return server


def write_rules(target: Path, for_s: float | None = None) -> Path:
    """The shipped rules, checked by promtool, with every ``for:`` set to ``for_s`` seconds when given."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise NotInstalled(PROMETHEUS_HINT)
    doc: dict[str, Any] = yaml.safe_load(SHIPPED_RULES.read_text())
    if for_s is not None:
        for group in doc["groups"]:
            for rule in group["rules"]:
                rule["for"] = f"{for_s:g}s"
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    checked = subprocess.run([promtool, "check", "rules", str(target)], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"promtool rejects the rules:\n{checked.stdout}{checked.stderr}")
    return target


def start_prometheus(
    jobs: list[dict[str, Any]], *, rules: Sequence[Path] = (), alertmanager: str | None = None, interval: str = "1s"
) -> PrometheusProcess:
    """Prometheus scraping ``jobs`` (scrape_configs entries) and evaluating ``rules`` every ``interval``."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise NotInstalled(PROMETHEUS_HINT)
    root = Path(tempfile.mkdtemp(prefix="minio-chatops-prom-"))
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
        "scrape_configs": jobs,
        "rule_files": [str(path) for path in rules],
    }
    if alertmanager:
        target = urllib.parse.urlsplit(alertmanager).netloc
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = root / "prometheus.log"
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--rules.alert.resend-delay=1s"],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )
    server = PrometheusProcess(f"http://127.0.0.1:{port}", process, root, "prometheus")
    _wait_ready(server.url, process, log, "Prometheus", 30)
    return server


def minio_job(minio: Any, tenant: str) -> dict[str, Any]:
    """A scrape job for every node of a simulated cluster, labelled with the tenant, with MinIO's JWT."""
    return {
        "job_name": "minio", "metrics_path": "/minio/v2/metrics/cluster",
        # MinIO's default: a JWT signed with the keys (what `mc admin prometheus generate` prints).
        "authorization": {"credentials": minio.prometheus_token(expiry_seconds=30 * 24 * 3600)},
        "static_configs": [{"targets": [u.removeprefix("http://") for u in minio.endpoints],
                            "labels": {"tenant": tenant}}],
    }


@dataclass
class SandboxAlerting:
    """Prometheus + Alertmanager for a sandbox: the port and token are known before the bot starts."""

    for_s: float = 10.0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=free_port)
    alertmanager: AlertmanagerProcess | None = None
    prometheus: PrometheusProcess | None = None

    @property
    def url(self) -> str:
        """Alertmanager's URL (the bot's `alertmanager.url`)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, webhook_url: str, minio: Any, tenant: str, state_dir: Path) -> SandboxAlerting:
        """Alertmanager to ``webhook_url``, then Prometheus scraping ``minio`` as ``tenant``."""
        rules = write_rules(state_dir / "minio-rules.yaml", self.for_s)
        self.alertmanager = start_alertmanager(webhook_url, self.token, port=self.port)
        try:
            self.prometheus = start_prometheus([minio_job(minio, tenant)], rules=[rules], alertmanager=self.url)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for part in (self.prometheus, self.alertmanager):
            if part is not None:
                part.stop()
                shutil.rmtree(part.root, ignore_errors=True)
        self.prometheus = self.alertmanager = None
