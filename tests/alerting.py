"""Helpers for the alert-driven incident tests: notifications as Alertmanager sends them, and a bot to receive them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.state import Message
from tests.fixtures.bot import ALICE, BOB, CAROL, OPS, base_config

TOKEN = "alertmanager-test-token"
ALERTS = "C0ALERTS"  # the fallback channel for alerts that name no tenant


def alert_config(slack: SlackSim, cluster: SimCluster, tmp_path: Path, am_url: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    """Tenant `demo` (the simulator, seen in #ops; bob operates it, carol only looks), alerts to #ops."""
    if slack.channel(ALERTS) is None:
        slack.add_channel("alerts", [ALICE, BOB, CAROL], channel_id=ALERTS)
    tenant = {
        "name": "demo", "endpoints": cluster.endpoints, "channels": [OPS], "operators": [BOB],
        "credentials": {"access_key_env": "DEMO_ACCESS_KEY", "secret_key_env": "DEMO_SECRET_KEY"},
    }
    config = base_config(
        slack, tenants=[tenant], store_url=f"sqlite:///{tmp_path / 'bot.db'}",
        alertmanager={"url": am_url, "fallback_channel": ALERTS},
        timeouts={"connect": 1, "read": 2, "probe": 1, "report_deadline": 3},
        scheduler={"enabled": False},
    )
    config.update(extra)
    return config


def alert(status: str = "firing", name: str = "MinioNodeOffline", fingerprint: str = "fp-node",
          summary: str = "1 MinIO node(s) offline", **labels: str) -> dict[str, Any]:
    """One alert of a webhook payload."""
    return {
        "status": status,
        "labels": {"alertname": name, "severity": "critical", "category": "availability", **labels},
        "annotations": {"summary": summary},
        "startsAt": "2026-03-02T09:00:00Z",
        "endsAt": "2026-03-02T09:07:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint,
    }


def notification(alerts: list[dict[str, Any]], status: str | None = None,
                 group_key: str = '{}:{alertname="MinioNodeOffline", tenant="demo"}',
                 group_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A version 4 webhook payload for one group."""
    status = status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved")
    common = {k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)}
    return {
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": status, "receiver": "minio-chatops",
        "groupLabels": group_labels if group_labels is not None else {
            k: common[k] for k in ("alertname", "tenant") if k in common
        },
        "commonLabels": common, "commonAnnotations": {}, "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    }


def post(url: str, payload: dict[str, Any] | None = None, *, token: str | None = TOKEN, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST to the bot's /alertmanager as Alertmanager does; (status, JSON answer)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}/alertmanager", data=body, method="POST", headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _decoded(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _decoded(exc.read())


def _decoded(body: bytes) -> dict[str, Any]:
    try:
        return dict(json.loads(body or b"{}"))
    except ValueError:
        return {"text": body.decode("utf-8", "replace")}  # a plain-text answer (the server's own limits)


def shown(message: Message) -> str:
    """Everything a person sees of a message (fallback text and blocks)."""
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def top_level(slack: SlackSim, channel: str) -> list[Message]:
    """The channel's messages, thread replies left out."""
    return [m for m in slack.messages(channel) if not m.is_reply]


def buttons(message: Message) -> dict[str, tuple[str, str]]:
    """Label -> (action_id, value) of every button on a message."""
    found: dict[str, tuple[str, str]] = {}
    for block in message.blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button":
                found[element["text"]["text"]] = (element["action_id"], element.get("value", ""))
    return found


def now() -> datetime:
    return datetime.now(UTC)
