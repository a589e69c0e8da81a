"""The command line as a new user meets it: help, the sandbox shell, the detached demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from kubernetes import client, config

CLI = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})}
    )


def test_help_lists_the_subcommands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for sub in ("run", "shell", "demo", "check-config"):
        assert sub in result.stdout


def test_shell_in_the_sandbox_lists_the_verbs() -> None:
    result = run("shell", "--sandbox", "-c", "/minio help")
    assert result.returncode == 0, result.stderr
    assert "/minio tenants" in result.stdout and "/minio help" in result.stdout


def test_the_sandbox_tenant_has_a_backup_a_new_user_can_verify() -> None:
    """The sandbox mirrors `documents` under backups/mirror/: verification reads it back and finds it whole."""
    result = run("shell", "--sandbox", "-c", "/minio backup demo verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 of 3 sampled object(s) read back whole from `backups/mirror/`" in result.stdout
    assert "matches its source" in result.stdout


def test_shell_bad_input_exits_64() -> None:
    result = run("shell", "--sandbox", "-c", "/minio frobnicate")
    assert result.returncode == 64
    assert "Unknown command" in result.stdout


def test_run_without_tokens_says_what_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("admins: [U0ALICE]\n")
    env = {k: "" for k in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")}
    result = run("run", "--config", str(config), env=env, timeout=30)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr and "Traceback" not in result.stderr


def test_detached_demo_can_be_driven_and_stopped(tmp_path: Path) -> None:
    state = tmp_path / "demo.json"
    started = run("demo", "--detach", "--state-file", str(state), timeout=180)
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout.strip().splitlines()[-1])
    try:
        for key in ("config", "slack_url", "minio_control_url", "pid"):
            assert key in info
        ok = run("shell", "--config", info["config"], "-c", "/minio tenants")
        assert ok.returncode == 0 and "4/4 nodes live" in ok.stdout, ok.stdout + ok.stderr
        assert operator_rejects_a_2x1_pool(info["kubeconfig"]), "the demo's Tenant is reconciled by the stand-in"
        request = urllib.request.Request(info["minio_control_url"] + "/node/2/stop", method="POST")
        urllib.request.urlopen(request, timeout=5).close()
        down = run("shell", "--config", info["config"], "-c", "/minio tenants")
        assert down.returncode == 1 and "down: node 2" in down.stdout
    finally:
        stopped = run("demo", "--stop", "--state-file", str(state), timeout=60)
    assert stopped.returncode == 0
    assert not alive(int(info["pid"]))


def operator_rejects_a_2x1_pool(kubeconfig: str, timeout_s: float = 20.0) -> bool:
    """Append a 2 x 1 pool to the demo Tenant; True once the operator's error is in status.currentState."""
    api = config.new_client_from_config(config_file=kubeconfig)
    tenants = client.CustomObjectsApi(api)
    coordinates = ("minio.min.io", "v2", "minio-demo", "tenants", "demo")
    pool = {"name": "pool-1", "servers": 2, "volumesPerServer": 1, "volumeClaimTemplate": {"spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Ti"}}}}}
    tenants.patch_namespaced_custom_object(*coordinates, [{"op": "add", "path": "/spec/pools/-", "value": pool}],
                                           _content_type="application/json-patch+json", _request_timeout=10)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tenant: Any = tenants.get_namespaced_custom_object(*coordinates, _request_timeout=10)
        if (tenant.get("status") or {}).get("currentState") == (
                "pool #1 with 2 servers must have at least 4 volumes in total"):
            return True
        time.sleep(0.2)
    return False


def alive(pid: int) -> bool:
    """True while the process runs (a zombie waiting to be reaped has stopped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status
