"""Run the Slack simulator as a process: `python -m sandbox.slack_sim --port 8765 --seed-demo`.

Prints one JSON line ({"api_url", "base_url", "pid", ...}) and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from types import FrameType

from .sim import SlackSim


def main(argv: list[str] | None = None) -> int:
    """Start the sim, print where it listens, wait for a signal, stop."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.slack_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="Web API port (0 = any free port)")
    parser.add_argument("--socket-port", type=int, default=0, help="Socket Mode websocket port (0 = any)")
    parser.add_argument("--seed-demo", action="store_true", help="alice/bob/carol, #ops, #platform, @oncall")
    parser.add_argument("--free-plan", action="store_true", help="usergroups.* answer plan_upgrade_required")
    parser.add_argument("--rate-limits", action="store_true", help="enable Slack-like rate limiting")
    parser.add_argument("--bot-token", default="xoxb-sim-token")
    parser.add_argument("--app-token", default="xapp-sim-token")
    parser.add_argument("--signing-secret", default="sim-signing-secret")
    args = parser.parse_args(argv)

    sim = SlackSim(
        bot_token=args.bot_token,
        app_token=args.app_token,
        signing_secret=args.signing_secret,
        host=args.host,
        port=args.port,
        socket_port=args.socket_port,
    )
    if args.seed_demo:
        sim.seed_demo()
    sim.set_free_plan(args.free_plan)
    sim.set_rate_limits(args.rate_limits)
    sim.start()

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(
        json.dumps(
            {
                "api_url": sim.api_url,
                "base_url": sim.base_url,
                "pid": os.getpid(),
                "socket_port": sim.socket.port,
                "state_url": f"{sim.base_url}_sim/state",
                "bot_token": sim.bot_token,
                "app_token": sim.app_token,
                "signing_secret": sim.signing_secret,
            }
        ),
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
