"""``python -m sandbox.kube``: print the built version, build the binaries, or run a control plane.

python -m sandbox.kube --version
python -m sandbox.kube build
python -m sandbox.kube up [--kubeconfig PATH] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sandbox.kube.controlplane import BUILD_SCRIPT, ControlPlane, ControlPlaneError, apiserver_version
from sandbox.kube.crds import install_crds


def _up(kubeconfig: Path | None, workdir: Path | None) -> int:
    stop = threading.Event()
    # Handlers go in before start so a quick SIGTERM still cleans up.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    plane = ControlPlane.start(workdir=workdir)
    try:
        with plane.api_client() as api:
            install_crds(api)
        path = plane.write_kubeconfig(kubeconfig or plane.workdir / "kubeconfig")
        print(json.dumps({"url": plane.url, "kubeconfig": str(path), "pid": plane.pid}), flush=True)
        while not stop.wait(1.0):
            if plane.apiserver.poll() is not None:
                print(f"kube-apiserver exited with {plane.apiserver.returncode}", file=sys.stderr)
                return 1
        return 0
    finally:
        plane.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.kube", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--version", action="store_true", help="print the built kube-apiserver version")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("build", help="build kube-apiserver and etcd into the cache folder")
    up = sub.add_parser("up", help="start a control plane with the CRDs; print one JSON line; run until SIGTERM")
    up.add_argument("--kubeconfig", type=Path, help="where to write the admin kubeconfig")
    up.add_argument("--workdir", type=Path, help="keep data, certs and logs here (default: a temp dir)")
    args = parser.parse_args(argv)
    try:
        if args.version:
            print(apiserver_version())
            return 0
        if args.command == "build":
            return subprocess.run(["bash", str(BUILD_SCRIPT)], check=False).returncode
        if args.command == "up":
            return _up(args.kubeconfig, args.workdir)
    except ControlPlaneError as exc:
        print(exc, file=sys.stderr)
        return 1
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
