"""Change previews under latency, and Slack calls made while following a 30-minute rollout.

- preview_max_s: the slowest preview (command parsed, facts gathered in
  parallel, API server dry run, plan stored, card posted) of every change kind
  (add-pool, resources, restart, storage, decommission, decommission cancel,
  remove-pool, tenant upgrade, operator upgrade, rollback) with 50 ms injected
  on every MinIO and every Kubernetes request. Target < 1 s.
- progress_calls_per_10s: the most Slack calls (post + edits) to the progress
  message in any 10-second window while a 30-minute rollout is followed, on a
  fake clock. Two runs: a stress run whose state changes every second, and a
  real tenant upgrade (Kubernetes API server + MinIO simulator, the operator
  played on the fake clock). Target <= 1. The engine's final flush when the
  change ends is counted apart (progress_calls_per_10s_with_final_flush).

    python bench/changes.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import approval_engine as engine  # noqa: E402
from bot.changes import follow as change_following  # noqa: E402
from bot.changes.follow import Observation, Pacing, Phase, follow  # noqa: E402
from bot.changes.tenant import handle_for  # noqa: E402
from bot.commands import Command  # noqa: E402
from bot.composition import load_application  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.dispatch import Dispatcher  # noqa: E402
from bot.outbox import Prompt  # noqa: E402
from bot.report import Report  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from handlers.updates.images import parse_image  # noqa: E402
from handlers.updates.kinds import TenantUpdate  # noqa: E402
from handlers.updates.plans import plan_tenant_update  # noqa: E402
from sandbox.kube.controlplane import ControlPlane, find_binaries  # noqa: E402
from sandbox.kube.crds import install_crds  # noqa: E402
from sandbox.kube.world import PoolSpec, TenantWorld, set_tenant_status  # noqa: E402
from sandbox.minio_sim import SimCluster  # noqa: E402

LATENCY_S = 0.05
ROUNDS = 3
ROLLOUT_S = 30 * 60
WINDOW_S = 10.0
USER = "U0ALICE"
CHANNEL = "C0OPS"
NEW_TAG = "RELEASE.2025-10-15T17-29-55Z"


class CountingOutbox:
    """An Outbox that records when (on the given clock) each Slack call would have been made."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, str]] = []  # (time, message ts, "post" | "update")
        self._next = 0

    def post(self, channel: str, report: Report, thread_ts: str | None = None) -> str:
        self._next += 1
        ts = f"{self._next}.000"
        self.calls.append((self.clock(), ts, "post"))
        return ts

    def update(self, channel: str, ts: str, report: Report) -> None:
        self.calls.append((self.clock(), ts, "update"))

    def notify(self, channel: str, report: Report) -> None:
        self.post(channel, report)

    def create_channel(self, name: str, private: bool) -> str:
        return "C0NEW"

    def invite(self, channel: str, users: list[str]) -> dict[str, str]:
        return {}

    def pin(self, channel: str, ts: str) -> None:
        return None

    def permalink(self, channel: str, ts: str) -> str | None:
        return None

    def open_modal(self, trigger_id: str, prompt: Prompt) -> None:
        return None


class FakeClock:
    """Monotonic seconds and a UTC datetime that only move when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.start = datetime(2025, 10, 15, 9, 0, tzinfo=UTC)
        self.hooks: list[Callable[[float], None]] = []

    def monotonic(self) -> float:
        return self.now

    def stamp(self) -> datetime:
        return self.start + timedelta(seconds=self.now)

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        for hook in self.hooks:
            hook(self.now)


def max_per_window(times: list[float], window: float = WINDOW_S) -> int:
    """The most events in any half-open window [t, t + window)."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def slow_down_kube(runtime: Runtime, cluster: str) -> None:
    """Add LATENCY_S to every request the bot's Kubernetes client sends."""
    pool: Any = runtime.kube(cluster).api_client.rest_client.pool_manager
    original = pool.request

    def delayed(*args: Any, **kwargs: Any) -> Any:
        time.sleep(LATENCY_S)
        return original(*args, **kwargs)

    pool.request = delayed


# ----------------------------------------------------------------------------- previews


def bot_config(kubeconfig: Path, namespace: str, minio: SimCluster, state: Path, poll_s: float) -> dict[str, Any]:
    (state / "ak").write_text(minio.access_key)
    (state / "sk").write_text(minio.secret_key)
    approvers = {"approvers": [USER, "U0BOB"]}
    return {
        "admins": [USER],
        "store_url": f"sqlite:///{state / 'state.db'}",
        "clusters": [{"name": "bench", "kubeconfig": str(kubeconfig), "discover": False,
                      "operator": {"namespace": namespace, "deployment": "minio-operator"},
                      "approvals": {"approvers": ["U0BOB"], "channel": CHANNEL}}],
        "channels": [{"id": CHANNEL}],
        "tenants": [{
            "name": "demo",
            "kubernetes": {"cluster": "bench", "namespace": namespace, "tenant": "demo"},
            "endpoints": list(minio.endpoints),
            "credentials": {"access_key_file": str(state / "ak"), "secret_key_file": str(state / "sk")},
            "channels": [CHANNEL],
            "approvals": {k: approvers for k in ("scale", "update", "rollback")},
            "rollout": {"timeout_minutes": 45, "poll_seconds": poll_s},
        }],
    }


def measure_previews(plane: ControlPlane, workdir: Path) -> dict[str, float]:
    """Seconds per change kind (max of ROUNDS) for the preview, at 50 ms per request."""
    namespace = "bench-preview"
    with plane.api_client() as api:
        TenantWorld(namespace=namespace, pools=[PoolSpec("pool-0"), PoolSpec("pool-1")]).apply(api)
        from sandbox.kube.world import ensure_operator

        ensure_operator(api, namespace=namespace)
    minio = SimCluster(pools=[(4, 2), (4, 2)], decommission_seconds=3600).start()
    state = workdir / "preview"
    state.mkdir()
    kubeconfig = plane.write_kubeconfig(state / "kubeconfig")
    runtime = Runtime(parse_config(yaml.safe_dump(bot_config(kubeconfig, namespace, minio, state, 10))), environ={})
    dispatcher = Dispatcher(runtime, load_application())
    outbox = CountingOutbox()
    client = runtime.minio(runtime.config.tenants[0])
    try:
        slow_down_kube(runtime, "bench")
        minio.set_latency(LATENCY_S * 1000)

        def preview(text: str) -> float:
            parsed = dispatcher.parse(text)
            assert isinstance(parsed, Command), parsed
            begin = time.perf_counter()
            report = dispatcher.run(USER, CHANNEL, parsed, outbox=outbox)
            took = time.perf_counter() - begin
            assert not report.failed, f"{text}: {report.summary}"
            return took

        commands = {
            "scale-add-pool": "scale demo add-pool --servers 4 --volumes-per-server 4 --size 2Ti",
            "scale-resources": "scale demo resources --cpu 4 --memory 16Gi",
            "scale-restart": "scale demo restart",
            "scale-storage": "scale demo storage --size 2Ti --pool pool-0",
            "scale-decommission": "scale demo decommission pool-0",
            "update-tenant": f"update demo tenant quay.io/minio/minio:{NEW_TAG}",
            "update-operator": "update operator quay.io/minio/operator:v7.1.2",
        }
        figures = {kind: max(preview(text) for _ in range(ROUNDS)) for kind, text in commands.items()}
        cmdline = client.pools_list()[1].cmdline
        client.decommission_start(cmdline)
        figures["scale-decommission-cancel"] = max(
            preview("scale demo decommission pool-1 --cancel") for _ in range(ROUNDS))
        client.decommission_cancel(cmdline)
        minio.model.decommission_seconds = 0.0
        client.decommission_start(cmdline)
        figures["scale-remove-pool"] = max(preview("scale demo remove-pool pool-1") for _ in range(ROUNDS))
        spec = handle_for(runtime, runtime.config.tenants[0]).read().info.raw_spec
        snapshot = runtime.store.specs.add("demo", {**spec, "image": f"quay.io/minio/minio:{NEW_TAG}"}, reason="bench")
        figures["update-rollback"] = max(preview(f"update demo rollback {snapshot.id}") for _ in range(ROUNDS))
        return figures
    finally:
        runtime.close()
        minio.stop()


# ----------------------------------------------------------------------------- progress pacing


def stress_progress() -> tuple[int, int, int, int]:
    """A 30-minute follow whose state changes every second: (max calls per 10 s while following, calls, lines,
    max calls per 10 s including the engine's final flush)."""
    fake = FakeClock()
    outbox = CountingOutbox(fake.monotonic)
    progress = engine.ProgressThread(outbox, CHANNEL, "1.000", "stress", stamp=fake.stamp, clock=fake.monotonic)
    change_following.pacing = Pacing(clock=fake.monotonic, sleep=fake.sleep)
    lines = 0

    def observe() -> Observation:
        nonlocal lines
        lines += 1
        done = fake.now >= ROLLOUT_S
        return Observation(Phase.DONE if done else Phase.RUNNING, f"{min(100.0, 100 * fake.now / ROLLOUT_S):.2f} %")

    try:
        follow(observe, progress, timeout_s=2 * ROLLOUT_S, poll_s=1.0, what="stress")
    finally:
        change_following.pacing = Pacing()
    following = [t for t, _ts, _kind in outbox.calls]
    progress.close("Done: stress")
    everything = [t for t, _ts, _kind in outbox.calls]
    return max_per_window(following), len(outbox.calls), len(progress.lines), max_per_window(everything)


def real_rollout(plane: ControlPlane, workdir: Path) -> tuple[int, int, int, bool]:
    """A real tenant upgrade followed for 30 fake minutes: (max calls per 10 s while following, calls, the same
    including the final flush, succeeded)."""
    namespace = "bench-rollout"
    with plane.api_client() as api:
        TenantWorld(namespace=namespace).apply(api)
    minio = SimCluster(pools=[(4, 2)]).start()
    state = workdir / "rollout"
    state.mkdir()
    kubeconfig = plane.write_kubeconfig(state / "kubeconfig")
    runtime = Runtime(parse_config(yaml.safe_dump(bot_config(kubeconfig, namespace, minio, state, 5))), environ={})
    fake = FakeClock()
    api = plane.api_client()
    played: set[str] = set()

    def operator(now: float) -> None:
        # The operator's 30 minutes: busy at once, one node every 7 minutes, Initialized at the end.
        if "busy" not in played:
            set_tenant_status(api, namespace, "demo", currentState="Updating MinIO Version")
            played.add("busy")
        for node in range(1, 5):
            if now >= node * 420 and f"node{node}" not in played:
                minio.set_version(node, NEW_TAG)
                played.add(f"node{node}")
        if now >= ROLLOUT_S and "done" not in played:
            set_tenant_status(api, namespace, "demo", currentState="Initialized")
            played.add("done")

    fake.hooks.append(operator)
    try:
        tenant = runtime.config.tenants[0]
        plan = plan_tenant_update(runtime, handle_for(runtime, tenant), USER,
                                  parse_image(f"quay.io/minio/minio:{NEW_TAG}"))
        outbox = CountingOutbox(fake.monotonic)
        progress = engine.ProgressThread(outbox, CHANNEL, "1.000", plan.title, stamp=fake.stamp,
                                         clock=fake.monotonic)
        change_following.pacing = Pacing(clock=fake.monotonic, sleep=fake.sleep)
        try:
            outcome = TenantUpdate().execute(runtime, plan, progress)
        finally:
            change_following.pacing = Pacing()
        following = [t for t, _ts, _kind in outbox.calls]
        progress.close(outcome.summary)
        everything = [t for t, _ts, _kind in outbox.calls]
        return max_per_window(following), len(outbox.calls), max_per_window(everything), outcome.ok
    finally:
        api.close()
        runtime.close()
        minio.stop()


def measure() -> dict[str, Any]:
    plane = ControlPlane.start(binaries=find_binaries())
    try:
        with plane.api_client() as api:
            install_crds(api)
        with tempfile.TemporaryDirectory(prefix="bench-changes-") as tmp:
            previews = measure_previews(plane, Path(tmp))
            stress_max, stress_calls, stress_lines, stress_flush = stress_progress()
            real_max, real_calls, real_flush, real_ok = real_rollout(plane, Path(tmp))
    finally:
        plane.stop()
    return {
        "preview_max_s": round(max(previews.values()), 3),
        "preview_s": {k: round(v, 3) for k, v in previews.items()},
        "progress_calls_per_10s": max(stress_max, real_max),
        "stress_progress_lines": stress_lines,
        "stress_slack_calls_30min": stress_calls,
        "rollout_slack_calls_30min": real_calls,
        "rollout_succeeded": real_ok,
        "progress_calls_per_10s_with_final_flush": max(stress_flush, real_flush),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = measure()
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"slowest preview at 50 ms per request: {figures['preview_max_s']} s (target < 1 s)")
    for kind, seconds in figures["preview_s"].items():
        print(f"  {kind:28} {seconds:.3f} s")
    print(f"progress message: at most {figures['progress_calls_per_10s']} Slack call(s) per 10 s while following "
          f"(target <= 1); stress: {figures['stress_progress_lines']} lines -> {figures['stress_slack_calls_30min']} "
          f"calls in 30 min; real upgrade: {figures['rollout_slack_calls_30min']} calls "
          f"({'completed' if figures['rollout_succeeded'] else 'DID NOT COMPLETE'})")
    print(f"counting the engine's final flush when the change ends: "
          f"{figures['progress_calls_per_10s_with_final_flush']} call(s) in the last 10 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
