"""Plain-HTTP fault-injection port (no auth, JSON answers) driving a SimCluster."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.minio_sim.entities import ReplicationRule, UnknownTargetError
from sandbox.minio_sim.server import Handler, Request, Response

if TYPE_CHECKING:
    from sandbox.minio_sim.cluster import SimCluster

Action = Callable[["SimCluster", Request, "re.Match[str]"], object]


def _ok(extra: object = None) -> Response:
    doc = {"ok": True} if extra is None else {"ok": True, "result": extra}
    return Response(200, json.dumps(doc).encode(), "application/json")


def _error(status: int, message: str) -> Response:
    return Response(status, json.dumps({"ok": False, "error": message}).encode(), "application/json")


def _usage(cluster: SimCluster, request: Request, _: re.Match[str]) -> object:
    doc = json.loads(request.body or b"{}")
    if not isinstance(doc, dict):
        raise ValueError("usage body must be a JSON object bucket -> {size, objects}")
    usage = {name: (int(v["size"]), int(v.get("objects", 0))) for name, v in doc.items()}
    cluster.set_usage(usage, replace=request.query.get("replace", "") == "true")
    return {"buckets": len(usage)}


def _replication(cluster: SimCluster, request: Request, match: re.Match[str]) -> object:
    doc = json.loads(request.body or b"[]")
    if not isinstance(doc, list) or not all(isinstance(r, dict) and r.get("target") for r in doc):
        raise ValueError("replication body must be a JSON list of {id, target, enabled, priority}")
    rules = [
        ReplicationRule(
            rule_id=str(r.get("id") or f"rule-{i + 1}"),
            target_bucket=str(r["target"]),
            enabled=bool(r.get("enabled", True)),
            priority=int(r.get("priority", i + 1)),
        )
        for i, r in enumerate(doc)
    ]
    cluster.set_bucket_replication(match[1], rules)
    return {"rules": len(rules)}


def _bool(value: str, default: bool = True) -> bool:
    return default if value == "" else value.lower() in ("1", "true", "yes")


ROUTES: list[tuple[str, re.Pattern[str], Action]] = [
    ("POST", re.compile(r"^/node/(\d+)/stop$"), lambda c, r, m: c.stop_node(int(m[1]))),
    ("POST", re.compile(r"^/node/(\d+)/start$"), lambda c, r, m: c.start_node(int(m[1]))),
    ("POST", re.compile(r"^/node/(\d+)/hang$"), lambda c, r, m: c.hang_node(int(m[1]))),
    (
        "POST",
        re.compile(r"^/node/(\d+)/starting$"),
        lambda c, r, m: c.set_starting(
            int(m[1]), float(r.query.get("seconds", "30")), status=r.query.get("status", "offline")
        ),
    ),
    ("POST", re.compile(r"^/drive/(\d+)/(\d+)/offline$"), lambda c, r, m: c.drive_offline(int(m[1]), int(m[2]))),
    ("POST", re.compile(r"^/drive/(\d+)/(\d+)/online$"), lambda c, r, m: c.drive_online(int(m[1]), int(m[2]))),
    (
        "POST",
        re.compile(r"^/drive/(\d+)/(\d+)/replace$"),
        lambda c, r, m: c.drive_replace(
            int(m[1]),
            int(m[2]),
            heal_seconds=float(r.query.get("heal_seconds", "30")),
            format_seconds=float(r.query.get("format_seconds", "0.5")),
        ),
    ),
    ("POST", re.compile(r"^/latency$"), lambda c, r, m: c.set_latency(float(r.query.get("ms", "0")))),
    (
        "POST",
        re.compile(r"^/disk-full$"),
        lambda c, r, m: c.disk_full(int(r.query["node"]), full=_bool(r.query.get("full", ""))),
    ),
    ("POST", re.compile(r"^/version$"), lambda c, r, m: c.set_version(int(r.query["node"]), r.query["v"])),
    ("POST", re.compile(r"^/usage$"), _usage),
    ("POST", re.compile(r"^/scanner/run$"), lambda c, r, m: c.run_scanner()),
    ("POST", re.compile(r"^/reset$"), lambda c, r, m: c.reset()),
    ("POST", re.compile(r"^/decommission/fail$"), lambda c, r, m: c.fail_decommission(r.query["pool"])),
    (
        "POST",
        re.compile(r"^/bucket/([^/]+)/public$"),
        lambda c, r, m: c.set_bucket_public(m[1], public=_bool(r.query.get("public", ""))),
    ),
    ("POST", re.compile(r"^/bucket/([^/]+)/replication$"), _replication),
    (
        "POST",
        re.compile(r"^/bucket/([^/]+)/replication-backlog$"),
        lambda c, r, m: c.set_replication_backlog(m[1], **{k: float(v) for k, v in r.query.items()}),
    ),
    (
        "POST",
        re.compile(r"^/locks$"),
        lambda c, r, m: c.add_lock(r.query["resource"], age_seconds=float(r.query.get("age", "60"))),
    ),
    ("POST", re.compile(r"^/demo-data$"), lambda c, r, m: c.load_demo_data()),
    (
        "POST",
        re.compile(r"^/speedtest/node/(\d+)/fail$"),
        lambda c, r, m: c.speedtest_fail(int(m[1]), r.query.get("error", "drive write failed")),
    ),
    (
        "POST",
        re.compile(r"^/speedtest/node/(\d+)/slow$"),
        lambda c, r, m: c.speedtest_slow(int(m[1]), float(r.query.get("factor", "0.25"))),
    ),
    (
        "POST",
        re.compile(r"^/speedtest/clear$"),
        lambda c, r, m: c.speedtest_clear(float(r.query["time_scale"]) if "time_scale" in r.query else None),
    ),
    ("GET", re.compile(r"^/state$"), lambda c, r, m: c.state()),
]


def control_handler(cluster: SimCluster) -> Handler:
    """Handler for the control listener."""

    def handle(request: Request) -> Response:
        for method, pattern, action in ROUTES:
            match = pattern.match(request.path)
            if match is None:
                continue
            if request.method != method:
                return _error(405, f"use {method} for {request.path}")
            try:
                result = action(cluster, request, match)
            except UnknownTargetError as exc:
                return _error(404, str(exc))
            except KeyError as exc:
                return _error(400, f"missing query parameter {exc}")
            except ValueError as exc:
                return _error(400, str(exc))
            if request.path == "/state":
                return Response(200, json.dumps(result).encode(), "application/json")
            return _ok(result)
        return _error(404, f"unknown control path {request.path}")

    return handle
