"""`minio-chatops`: run the bot, use the shell, start the demo, check a config."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError, Secrets, load_config

STATE_FILE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "minio-chatops" / "demo.json"


def _config_path(value: str | None) -> str:
    path = value or os.environ.get("MINIO_CHATOPS_CONFIG")
    if not path:
        raise SystemExit("error: give --config FILE or set MINIO_CHATOPS_CONFIG")
    return path


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{path}: invalid configuration", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.file)
    print(f"{args.file}: ok ({len(config.tenants)} tenants, {len(config.channels)} channels, "
          f"{len(config.clusters)} clusters)")
    return 0


def _wait_for_signal() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_a: stop.set())
    return stop


def cmd_run(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.serve import serve_forever
    from bot.slack.app import Bot

    setup_logging(os.environ.get("LOG_LEVEL", "INFO"))
    config = _load(_config_path(args.config))
    secrets = Secrets()
    mode = config.slack.mode
    if mode == "auto":
        mode = "socket" if secrets.slack_app_token else "http"
    if mode == "http" and secrets.slack_signing_secret is None:
        print("error: HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)", file=sys.stderr)
        return 2
    try:
        bot = Bot(config, secrets)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = _wait_for_signal()
    try:
        serve_forever(bot, mode, stop)
    finally:
        bot.close()
    return 0


NO_SANDBOX = (
    "error: the sandbox (MinIO, Slack and Kubernetes stand-ins) is not installed here; the production image "
    "leaves it out. Run the demo from a source checkout (`make demo`)."
)


def _sandbox_installed() -> bool:
    try:
        return importlib.util.find_spec("sandbox.launcher") is not None
    except ImportError:
        return False


def cmd_shell(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging
    from bot.runtime import Runtime
    from bot.shell import Shell

    setup_logging(os.environ.get("LOG_LEVEL", "ERROR"))  # redacted JSON on stderr; stdout stays the report

    sandbox = None
    if args.sandbox:
        if not _sandbox_installed():
            print(NO_SANDBOX, file=sys.stderr)
            return 2
        from sandbox.launcher import Sandbox

        print("starting the sandbox...", file=sys.stderr)
        sandbox = Sandbox().start()
        config = sandbox.config
    else:
        config = _load(_config_path(args.config))
    try:
        user = args.as_user or os.environ.get("MINIO_CHATOPS_USER") or (config.admins[0] if config.admins else "")
        channel = args.channel or (config.channels[0].id if config.channels else "")
        if not user or not channel:
            print("error: give --as USER_ID and --channel CHANNEL_ID (the config names no admin/channel)",
                  file=sys.stderr)
            return 2
        runtime = Runtime(config, recovers=False)
        shell = Shell(runtime, user=user, channel=channel)
        try:
            if args.command:
                return shell.run_line(args.command)
            return shell.interactive()
        finally:
            runtime.close()
    finally:
        if sandbox is not None:
            sandbox.stop()


def _demo_foreground(state_file: Path | None, tour: bool) -> int:
    """Start the sandbox and the bot against the Slack simulator; serve until stopped."""
    from bot.http import HttpServer
    from bot.logs import setup_logging
    from bot.scheduler import start_background
    from bot.slack.app import Bot
    from sandbox.launcher import DEMO_USERS, Sandbox, write_state

    setup_logging(os.environ.get("LOG_LEVEL", "WARNING"))
    sandbox = Sandbox(with_slack=True, with_alerting=True).start()
    bot = None
    server = None
    background = None
    try:
        config = sandbox.config
        secrets = Secrets(
            slack_bot_token=sandbox.slack.bot_token,
            slack_signing_secret=sandbox.slack.signing_secret,
            alertmanager_webhook_token=sandbox.alerting.token if sandbox.alerting is not None else None,
        )
        bot = Bot(config, secrets)
        server = HttpServer(bot, "127.0.0.1", 0).start()
        sandbox.start_alerting(f"http://127.0.0.1:{server.port}/alertmanager")
        background = start_background(bot)  # daily report, snapshots, alerts: the bot's own jobs
        events_url = f"http://127.0.0.1:{server.port}/slack/events"
        info = {**sandbox.info(), "events_url": events_url}
        if state_file is not None:
            write_state(state_file, info)
        else:
            _print_welcome(sandbox, info)
            if tour:
                _tour(sandbox, events_url, DEMO_USERS["alice"])
        stop = _wait_for_signal()
        stop.wait()
    finally:
        if background is not None:
            background.stop()
        if server is not None:
            server.stop()
        if bot is not None:
            bot.close()
        sandbox.stop()
        if state_file is not None:
            state_file.unlink(missing_ok=True)
    return 0


def _print_welcome(sandbox: Any, info: dict[str, Any]) -> None:
    print("minio-chatops demo is running (Ctrl-C stops it).")
    print(f"  MinIO simulator:  {', '.join(sandbox.minio.endpoints)} (faults: {sandbox.minio.control_url})")
    print(f"  Slack simulator:  {info['slack_url']} (see {info['slack_url'].rstrip('/')}/_sim/state)")
    print(f"  Kubernetes:       {info.get('kubeconfig') or 'not started (build it: sandbox/kube/build-testbin.sh)'}")
    print(f"  Bot events URL:   {info['events_url']}")
    if "alertmanager_url" in info:
        print(f"  Alerting:         Prometheus {info['prometheus_url']}, Alertmanager {info['alertmanager_url']} "
              f"(shipped rules, for: {sandbox.alert_for_s:g} s)")
    for note in sandbox.notes:
        print(f"  note: {note}")
    # The command as this process was started (e.g. .venv/bin/minio-chatops when run by `make demo`).
    installed = Path(sys.executable).with_name("minio-chatops")
    exe = "minio-chatops" if shutil.which("minio-chatops") == str(installed) else str(installed)
    print("\nTry, in another terminal:")
    print(f"  {exe} shell --config {info['config']} -c '/minio health demo'")
    print(f"  {exe} shell --config {info['config']}            # interactive")
    print(f"  curl -X POST {sandbox.minio.control_url}/node/2/stop     # then ask again\n")


def _blocks_text(blocks: list[dict[str, Any]]) -> str:
    """The visible text of Block Kit blocks, one block per line (for the demo's transcript)."""
    lines: list[str] = []
    for block in blocks:
        if "text" in block and isinstance(block["text"], dict):
            lines.append(str(block["text"].get("text", "")))
        for item in block.get("fields", []) + block.get("elements", []):
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                lines.append(item["text"])
    return "\n".join(line for line in lines if line)


def _tour(sandbox: Any, events_url: str, user: str) -> None:
    """Send a few commands as alice in #ops through the Slack simulator and show what she sees."""
    from bot.render.inline import mrkdwn_as_terminal_text

    slack, channel = sandbox.slack, sandbox.channel
    driver = slack.driver(events_url=events_url)
    for text in ("/minio help", "/minio tenants", "/minio health demo"):
        seen = (len(slack.messages(channel)), len(slack.ephemerals(channel, user)))
        result = driver.slash(user, channel, text)
        print(f"alice in #ops> {text}   (acked in {result.ack_s * 1000:.0f} ms)")
        slack.wait_for(
            lambda s=seen: (len(slack.messages(channel)), len(slack.ephemerals(channel, user))) != s, timeout=15
        )
        time.sleep(0.3)  # a long report continues in a thread: let it land
        new = [("only alice sees", _blocks_text(e.blocks) or e.text) for e in slack.ephemerals(channel, user)[seen[1]:]]
        new += [("#ops sees", _blocks_text(m.blocks) or m.text) for m in slack.messages(channel)[seen[0]:]]
        for who, body in new:
            print(f"  {who}: " + mrkdwn_as_terminal_text(body).replace("\n", "\n      "))
    print()


def cmd_demo(args: argparse.Namespace) -> int:
    if not _sandbox_installed():
        print(NO_SANDBOX, file=sys.stderr)
        return 2
    state_file = Path(args.state_file) if args.state_file else STATE_FILE
    if args.stop:
        return _demo_stop(state_file)
    if args.serve_detached:
        return _demo_foreground(state_file, tour=False)
    if not args.detach:
        return _demo_foreground(None, tour=not args.no_tour)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.unlink(missing_ok=True)
    log_path = state_file.with_suffix(".log")
    with log_path.open("ab") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", "--serve-detached", "--state-file", str(state_file)],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if state_file.exists():
            print(state_file.read_text(encoding="utf-8"))
            return 0
        if child.poll() is not None:
            print(f"error: the demo exited early; see {log_path}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    child.terminate()
    print(f"error: the demo did not start in time; see {log_path}", file=sys.stderr)
    return 1


def _running(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped has already stopped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return False
    return "State:\tZ" not in status


def _demo_stop(state_file: Path) -> int:
    if not state_file.exists():
        print("no detached demo is running", file=sys.stderr)
        return 1
    pid = int(json.loads(state_file.read_text(encoding="utf-8"))["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        state_file.unlink(missing_ok=True)
        return 0
    deadline = time.monotonic() + 30
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)
    state_file.unlink(missing_ok=True)
    print(f"stopped demo (pid {pid})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minio-chatops", description="Slack bot for day-2 operations of MinIO tenants on Kubernetes."
    )
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="{run,shell,demo,check-config,doctor}")
    run = sub.add_parser("run", help="run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)")
    run.add_argument("--config", help="YAML file (default: $MINIO_CHATOPS_CONFIG)")
    run.set_defaults(func=cmd_run)
    shell = sub.add_parser("shell", help="run /minio commands in a terminal")
    source = shell.add_mutually_exclusive_group()
    source.add_argument("--config", help="YAML file (default: $MINIO_CHATOPS_CONFIG)")
    source.add_argument("--sandbox", action="store_true", help="start the embedded sandbox and use it")
    shell.add_argument("--as", dest="as_user", help="Slack user id to act as (default: first admin)")
    shell.add_argument("--channel", help="Slack channel id to act in (default: first configured channel)")
    shell.add_argument("-c", dest="command", help="run one command and exit with its status")
    shell.set_defaults(func=cmd_shell)
    demo = sub.add_parser("demo", help="start the sandbox and the bot against the Slack simulator")
    mode = demo.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true", help="run in the background; print one JSON line")
    mode.add_argument("--stop", action="store_true", help="stop a detached demo")
    mode.add_argument("--serve-detached", action="store_true", help=argparse.SUPPRESS)
    demo.add_argument("--state-file", help=argparse.SUPPRESS)
    demo.add_argument("--no-tour", action="store_true", help="do not send the example commands at start")
    demo.set_defaults(func=cmd_demo)
    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file")
    check.set_defaults(func=cmd_check_config)
    doctor = sub.add_parser("doctor", help="check the installation end to end; one line per problem, with the fix")
    doctor.add_argument("--config", help="YAML file (default: $MINIO_CHATOPS_CONFIG)")
    doctor.set_defaults(func=cmd_doctor)
    return parser


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the installation as the bot would run it (same config and environment); exit 0, 1 or 2."""
    from bot.clients.slack import WebClientProbe
    from bot.commands import NoArgs
    from bot.composition import load_application
    from bot.invocation import Invocation
    from bot.logs import setup_logging
    from bot.metrics import BotMetrics
    from bot.redact import register_secret
    from bot.render import render_text
    from bot.render.inline import to_plain
    from bot.runtime import Runtime
    from bot.slack.delivery import make_web_client

    setup_logging(os.environ.get("LOG_LEVEL", "ERROR"))  # redacted JSON on stderr; stdout stays the report
    config = _load(_config_path(args.config))
    secrets = Secrets()
    slack = None
    if secrets.slack_bot_token is not None:
        token = secrets.slack_bot_token.get_secret_value()
        register_secret(token)
        slack = WebClientProbe(make_web_client(token, config.slack.api_url, BotMetrics()))
    runtime = Runtime(config, slack=slack)
    app = load_application()
    verb = app.registry.get("doctor")
    if verb is None:
        print("error: this build has no doctor capability", file=sys.stderr)
        return 3
    try:
        report = verb.handler(Invocation(user="cli", channel="", runtime=runtime, app=app), NoArgs())
    finally:
        runtime.close()
    sys.stdout.write(render_text(report))
    print(to_plain(report.summary))  # the last line, for scripts
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
