"""Serving a bot process: warm-up, leader election and scheduler, and the Slack transport."""

from __future__ import annotations

import logging
import threading

from bot.http import serve_http
from bot.runtime import Runtime
from bot.scheduler import start_background
from bot.slack.app import Bot

log = logging.getLogger("minio_chatops.serve")


def warm_up(runtime: Runtime) -> None:
    """Pay the slow first-use costs at start, not inside the first user's report deadline.

    The Kubernetes client loads its API modules lazily (1-2 s) and matplotlib's
    first import takes about as long; both would otherwise eat into the first
    health or capacity report. The store (connected and migrated on first use)
    is opened too: every Slack request over HTTP claims its replay key there.
    """
    try:
        runtime.store.ping()
    except Exception as exc:  # noqa: BLE001 - requests say the store is unavailable when it matters
        log.warning("store not ready", extra={"error_type": type(exc).__name__})
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot
    except Exception as exc:  # noqa: BLE001 - charts are optional; reports stand without them
        log.warning("chart library unavailable", extra={"error_type": type(exc).__name__})
    for cluster in runtime.config.clusters:
        try:
            runtime.kube(cluster.name)
        except Exception as exc:  # noqa: BLE001 - reported per command when it matters
            log.warning("cluster client not ready", extra={"cluster": cluster.name, "error_type": type(exc).__name__})


def serve_forever(bot: Bot, mode: str, stop: threading.Event | None = None) -> None:
    """Run the bot until `stop` is set (or forever): Socket Mode or HTTP, plus probes and metrics."""
    stop = stop or threading.Event()
    threading.Thread(target=warm_up, args=(bot.runtime,), name="minio-chatops-warm-up", daemon=True).start()
    # Leader election + scheduler: every replica serves commands; only the leader runs jobs.
    background = start_background(bot)
    try:
        if mode == "socket":
            close = bot.start_socket_mode()
            try:
                serve_http(bot, stop, with_slack=False)
            finally:
                close()
        else:
            serve_http(bot, stop, with_slack=True)
    finally:
        background.stop()
