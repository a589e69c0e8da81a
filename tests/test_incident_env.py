"""Shared set-up for the incident and runbook tests: tenants on the MinIO simulator and the real kube-apiserver.

Imported by `test_incident_*.py` and `test_runbook*.py`; it holds no tests itself.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.application import Application
from bot.commands import Command
from bot.composition import load_application
from bot.config import parse_config
from bot.dispatch import Dispatcher
from bot.interactions import Click, ClickResult
from bot.outbox import TerminalOutbox
from bot.report import Report, Section
from bot.runtime import Runtime
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TenantWorld
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.state import Message
from tests import reading
from tests.fixtures.bot import ALICE, BOB, CAROL, OPS, BotFactory, RunningBot, base_config

ELSEWHERE = "C0ELSEWHERE"  # a configured channel that cannot see `demo`
FAST_TIMEOUTS = {"connect": 0.5, "read": 2.0, "probe": 1.0, "report_deadline": 3.0}


def credentials_files(tmp_path: Path, cluster: SimCluster, name: str = "demo") -> dict[str, str]:
    """MinIO keys in files (as a mounted Secret would hold them), so every runtime can read them."""
    folder = tmp_path / f"keys-{name}"
    folder.mkdir(exist_ok=True)
    (folder / "access").write_text(cluster.access_key)
    (folder / "secret").write_text(cluster.secret_key)
    return {"access_key_file": str(folder / "access"), "secret_key_file": str(folder / "secret")}


def tenant_doc(
    tmp_path: Path, cluster: SimCluster, world: TenantWorld | None = None, name: str = "demo", **extra: Any
) -> dict[str, Any]:
    """Tenant `name` on the simulator, visible in #ops, bob its responder; with `world`, also its Tenant on the
    API server."""
    doc: dict[str, Any] = {
        "name": name,
        "endpoints": cluster.endpoints,
        "credentials": credentials_files(tmp_path, cluster, name),
        "channels": [OPS],
        "responders": [BOB],
        "probe": {"bucket": "probe"},
        **extra,
    }
    if world is not None:
        doc["kubernetes"] = {"cluster": "test", "namespace": world.namespace, "tenant": world.name}
    return doc


def config_doc(
    tmp_path: Path,
    tenants: list[dict[str, Any]],
    kubeconfig: Path | None = None,
    store_url: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A whole configuration: alice admin, #ops, #elsewhere seeing nothing."""
    doc: dict[str, Any] = {
        "admins": [ALICE],
        "channels": [{"id": OPS, "name": "ops"}, {"id": ELSEWHERE, "name": "elsewhere"}],
        "tenants": tenants,
        "timeouts": FAST_TIMEOUTS,
        "store_url": store_url or f"sqlite:///{tmp_path / 'store.db'}",
        **extra,
    }
    if kubeconfig is not None:
        doc["clusters"] = [{"name": "test", "kubeconfig": str(kubeconfig), "discover": False}]
    return doc


def dead_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig whose API server does not exist (connection refused at once)."""
    path = tmp_path / "dead-kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "dead", "user": {"token": "unused"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}],
        "current-context": "dead",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Env:
    """A runtime and dispatcher over the fixtures, with a terminal outbox that records every post."""

    runtime: Runtime
    application: Application = field(default_factory=load_application)
    outbox: TerminalOutbox = field(default_factory=lambda: TerminalOutbox(out=io.StringIO()))

    @property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.runtime, self.application)

    def run(self, text: str, user: str = ALICE, channel: str = OPS) -> Report:
        """Run `/minio <text>` as `user` in `channel` through the dispatcher (access checks included)."""
        parsed = self.application.registry.parse(text)
        assert isinstance(parsed, Command), parsed
        return self.dispatcher.run(user, channel, parsed, outbox=self.outbox)

    def click(self, user: str, channel: str, ts: str, action_id: str, value: str = "") -> ClickResult:
        return self.dispatcher.click(Click(user, channel, ts, action_id, value), outbox=self.outbox)


class EnvFactory:
    """Builds Envs and closes their runtimes after the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.runtimes: list[Runtime] = []

    def __call__(self, tenants: list[dict[str, Any]], kubeconfig: Path | None = None, **extra: Any) -> Env:
        doc = config_doc(self.tmp_path, tenants, kubeconfig, **extra)
        runtime = Runtime(parse_config(yaml.safe_dump(doc)), environ={})
        self.runtimes.append(runtime)
        return Env(runtime)

    def close(self) -> None:
        for runtime in self.runtimes:
            runtime.close()


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[EnvFactory]:
    factory = EnvFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def demo_cluster(minio_cluster: SimCluster) -> SimCluster:
    """The 4 x 2 simulator with demo buckets (`backups` locked, `web-assets` public, `probe`)."""
    minio_cluster.load_demo_data()
    return minio_cluster


@pytest.fixture
def kubeconfig(kube: ControlPlane, tmp_path: Path) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def full_env(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster, tenant_world: TenantWorld, kubeconfig: Path
) -> Env:
    """Tenant `demo`: MinIO on the simulator, its Tenant world on the real API server."""
    return make_env([tenant_doc(tmp_path, demo_cluster, tenant_world)], kubeconfig)


@pytest.fixture
def static_env(make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster) -> Env:
    """Tenant `demo` with static endpoints only (no Kubernetes)."""
    return make_env([tenant_doc(tmp_path, demo_cluster)])


def section(report: Report, title: str) -> Section:
    """The section whose title is `title` (or ends with ` · title`)."""
    for s in report.sections:
        if s.title == title or s.title.endswith(f" · {title}"):
            return s
    raise AssertionError(f"no section {title!r} in {[s.title for s in report.sections]}")


def texts(sec: Section) -> str:
    """Everything a section says, as one string."""
    plain = reading.plain
    return "\n".join(
        [*(plain(r.text) for r in sec.rows), *(plain(line) for line in sec.lines),
         *(f"{f.label}: {plain(f.value)}" for f in sec.fields), plain(sec.error)]
    )


def report_text(report: Report) -> str:
    """Everything a report says (title, summary, reasons, sections, footer) as one string."""
    return reading.report_text(report)


def slack_dump(slack: SlackSim) -> str:
    """Every channel, message (with earlier edits), pin and ephemeral the simulator recorded, as JSON."""
    return json.dumps(slack.state()["channels"])


# ---------------------------------------------------------------- Slack helpers


def start_bot(
    bot_factory: BotFactory,
    slack: SlackSim,
    tmp_path: Path,
    tenants: list[dict[str, Any]],
    kube: Path | None = None,
    **extra: Any,
) -> RunningBot:
    """The bot on the simulator with `config_doc`'s configuration (plus `extra` top-level settings)."""
    slack.add_channel("elsewhere", [ALICE, BOB, CAROL], channel_id=ELSEWHERE)
    doc = config_doc(tmp_path, tenants, kube, **extra)
    return bot_factory(base_config(slack, **{k: v for k, v in doc.items() if k != "slack"}))


def find_channel(slack: SlackSim, prefix: str) -> dict[str, Any] | None:
    return next((c for c in slack.state()["channels"] if c["name"].startswith(prefix)), None)


def wait_message(slack: SlackSim, channel: str, needle: str, timeout: float = 20) -> Message:
    def found() -> Message | None:
        return next((m for m in slack.messages(channel) if needle in json.dumps(m.blocks) + m.text), None)

    try:
        message = slack.wait_for(found, timeout=timeout)
        assert message is not None
        return message
    except TimeoutError:
        raise AssertionError(
            f"no message with {needle!r} in {channel}; saw {[m.text for m in slack.messages(channel)]}"
        ) from None


def wait_ephemeral(slack: SlackSim, channel: str, user: str, needle: str, timeout: float = 10) -> str:
    def found() -> str | None:
        texts = [json.dumps(e.blocks) + e.text for e in slack.ephemerals(channel, user)]
        return next((t for t in texts if needle in t), None)

    try:
        text = slack.wait_for(found, timeout=timeout)
        assert text is not None
        return text
    except TimeoutError:
        seen = [e.text for e in slack.ephemerals(channel, user)]
        raise AssertionError(f"no ephemeral with {needle!r}; saw {seen}") from None


def button(message: Message, label: str, step: int) -> dict[str, Any]:
    """The button `label` of checklist step `step` (its action id ends with `:<step>`)."""
    for block in message.blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element["text"]["text"] == label and element["action_id"].endswith(f":{step}"):
                return dict(element)
    raise AssertionError(f"no {label} button for step {step}")


__all__ = ["ALICE", "BOB", "CAROL", "ELSEWHERE", "OPS"]
