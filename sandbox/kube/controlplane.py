"""A real kube-apiserver + etcd on loopback for tests (envtest-style).

No kubelet, scheduler or controller-manager runs: tests write the world
through the API. Binaries come from ``build-testbin.sh`` (Apache-2.0 code
built from the Go module proxy into a cache folder outside the work tree).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from kubernetes import client

KUBE_VERSION = os.environ.get("KUBE_VERSION", "v1.35.4")
BUILD_SCRIPT = Path(__file__).resolve().parent / "build-testbin.sh"
READY_TIMEOUT_S = 90.0
# Wide enough that Services left behind by a crashed test never exhaust it.
SERVICE_CIDR = "10.0.0.0/16"
_LOG_TAIL_LINES = 40


class ControlPlaneError(RuntimeError):
    """The control plane could not be started or answered unexpectedly."""


class BinariesMissing(ControlPlaneError, FileNotFoundError):
    """kube-apiserver or etcd has not been built yet."""


def default_testbin_dir() -> Path:
    """Folder build-testbin.sh builds into (same rule as the script)."""
    override = os.environ.get("MINIO_CHATOPS_TESTBIN")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "minio-chatops" / "testbin" / KUBE_VERSION


def find_binaries(folder: Path | None = None) -> Path:
    """Return the folder holding executable ``kube-apiserver`` and ``etcd``.

    Raises BinariesMissing, naming the build command, when either is absent.
    """
    folder = folder or default_testbin_dir()
    missing = [n for n in ("kube-apiserver", "etcd") if not os.access(folder / n, os.X_OK)]
    if missing:
        raise BinariesMissing(
            f"{', '.join(missing)} not found in {folder}; build them with "
            f"`bash {BUILD_SCRIPT}` (or `python -m sandbox.kube build`, ~10-20 min cold)"
        )
    return folder


def apiserver_version(binaries: Path | None = None) -> str:
    """Version line printed by the built kube-apiserver, e.g. "Kubernetes v1.35.4"."""
    exe = find_binaries(binaries) / "kube-apiserver"
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True, timeout=30)
    return out.stdout.strip()


def _free_ports(count: int) -> list[int]:
    # Hold every socket open until all are chosen so the kernel cannot hand
    # the same port out twice; a small race with other processes remains.
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _write_service_account_key(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    # Each child leads its own process group (start_new_session), so this
    # reaches anything it spawned without touching unrelated processes.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)


@dataclass
class ControlPlane:
    """A running etcd + kube-apiserver pair; build one with ``ControlPlane.start()``."""

    workdir: Path
    url: str
    ca_file: Path
    admin_token: str
    etcd: subprocess.Popen[bytes]
    apiserver: subprocess.Popen[bytes]
    startup_seconds: float
    owns_workdir: bool = False
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        """Process id of kube-apiserver."""
        return self.apiserver.pid

    @property
    def apiserver_log(self) -> Path:
        """kube-apiserver's combined stdout/stderr."""
        return self.workdir / "kube-apiserver.log"

    @property
    def etcd_log(self) -> Path:
        """etcd's combined stdout/stderr."""
        return self.workdir / "etcd.log"

    @classmethod
    def start(cls, workdir: Path | None = None, binaries: Path | None = None) -> ControlPlane:
        """Start etcd and kube-apiserver on free loopback ports and wait for /readyz.

        ``workdir`` (created when missing) keeps data, certificates and logs;
        without it a temporary folder is used and removed by ``stop()``.
        """
        bins = find_binaries(binaries)
        owns = workdir is None
        workdir = Path(tempfile.mkdtemp(prefix="kube-testbed-")) if workdir is None else workdir
        workdir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        etcd_port, peer_port, api_port = _free_ports(3)
        admin_token = secrets.token_urlsafe(32)
        (workdir / "tokens.csv").write_text(f"{admin_token},admin,admin,system:masters\n")
        (workdir / "tokens.csv").chmod(0o600)
        _write_service_account_key(workdir / "sa.key")
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        url = f"https://127.0.0.1:{api_port}"

        etcd = cls._spawn(
            [
                str(bins / "etcd"),
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                # Test data is disposable; fsync dominates etcd latency on CI disks.
                "--unsafe-no-fsync",
            ],
            workdir / "etcd.log",
        )
        apiserver: subprocess.Popen[bytes] | None = None
        try:
            cls._wait_etcd(etcd, etcd_url, workdir / "etcd.log")
            apiserver = cls._spawn(
                [
                    str(bins / "kube-apiserver"),
                    f"--etcd-servers={etcd_url}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={api_port}",
                    f"--cert-dir={workdir / 'certs'}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    "--authorization-mode=RBAC",
                    f"--token-auth-file={workdir / 'tokens.csv'}",
                    f"--service-account-issuer={url}",
                    f"--service-account-key-file={workdir / 'sa.key'}",
                    f"--service-account-signing-key-file={workdir / 'sa.key'}",
                    # No token controller runs, so pods must not require SA tokens.
                    "--disable-admission-plugins=ServiceAccount",
                    "--allow-privileged=true",
                    # Its reconciler rejects a loopback endpoint for the
                    # "kubernetes" Service and logs an error every 10 s.
                    "--endpoint-reconciler-type=none",
                ],
                workdir / "kube-apiserver.log",
            )
            ca_file = workdir / "certs" / "apiserver.crt"
            cls._wait_ready(apiserver, url, ca_file, workdir / "kube-apiserver.log")
        except BaseException:
            for proc in (apiserver, etcd):
                if proc is not None:
                    _stop_process(proc)
            if owns:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        plane = cls(
            workdir=workdir,
            url=url,
            ca_file=ca_file,
            admin_token=admin_token,
            etcd=etcd,
            apiserver=apiserver,
            startup_seconds=time.monotonic() - began,
            owns_workdir=owns,
        )
        # A test run that dies without teardown must not leave servers behind.
        atexit.register(plane.stop)
        return plane

    @staticmethod
    def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

    @staticmethod
    def _wait_etcd(proc: subprocess.Popen[bytes], etcd_url: str, log: Path) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ControlPlaneError(f"etcd exited with {proc.returncode}:\n{_tail(log)}")
            try:
                resp = urllib3.request("GET", f"{etcd_url}/health", timeout=2.0, retries=False)
                if resp.status == 200 and resp.json().get("health") == "true":
                    return
            except (urllib3.exceptions.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise ControlPlaneError(f"etcd not healthy after 30 s:\n{_tail(log)}")

    @staticmethod
    def _wait_ready(proc: subprocess.Popen[bytes], url: str, ca_file: Path, log: Path) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ControlPlaneError(f"kube-apiserver exited with {proc.returncode}:\n{_tail(log)}")
            # The server writes its self-signed certificate before it listens.
            if ca_file.exists():
                try:
                    with urllib3.PoolManager(ca_certs=str(ca_file)) as http:
                        resp = http.request("GET", f"{url}/readyz", timeout=5.0, retries=False)
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}: {resp.data.decode(errors='replace')[-300:]}"
                except urllib3.exceptions.HTTPError as exc:
                    last = str(exc)
            time.sleep(0.2)
        raise ControlPlaneError(f"kube-apiserver not ready after {READY_TIMEOUT_S:.0f} s ({last}):\n{_tail(log)}")

    def api_client(self, token: str | None = None) -> client.ApiClient:
        """An ApiClient for this server (admin unless ``token`` is given), verifying TLS."""
        conf = client.Configuration(
            host=self.url,
            api_key={"BearerToken": token or self.admin_token},
            api_key_prefix={"BearerToken": "Bearer"},
            ssl_ca_cert=str(self.ca_file),
        )
        return client.ApiClient(conf)

    def write_kubeconfig(
        self, path: Path, token: str | None = None, namespace: str | None = None, context: str = "sandbox"
    ) -> Path:
        """Write a self-contained kubeconfig (CA embedded) for ``token`` (default admin)."""
        ctx: dict[str, Any] = {"cluster": context, "user": context}
        if namespace:
            ctx["namespace"] = namespace
        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url, "certificate-authority-data": ca}}],
            "users": [{"name": context, "user": {"token": token or self.admin_token}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def mint_token(self, namespace: str, service_account: str, expiration_seconds: int = 3600) -> str:
        """Issue a bound token for an existing ServiceAccount (TokenRequest API)."""
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)
        )
        with self.api_client() as api:
            result = client.CoreV1Api(api).create_namespaced_service_account_token(service_account, namespace, request)
        if result.status is None or not result.status.token:
            raise ControlPlaneError("TokenRequest returned no token")
        return result.status.token

    def version(self) -> str:
        """gitVersion reported by the running server, e.g. "v1.35.4"."""
        with self.api_client() as api:
            return str(client.VersionApi(api).get_code().git_version)

    def delete_namespace(self, name: str) -> None:
        """Delete a namespace and everything in it, now.

        There is no namespace controller, so a deleted namespace would stay
        Terminating with its objects still listed cluster-wide; this plays
        the controller's part so later tests see a clean cluster.
        """
        with self.api_client() as api:
            status, _ = raw_request(api, "DELETE", f"/api/v1/namespaces/{name}")
            if status == 404:
                return
            for path in _namespaced_collections(api):
                status, body = raw_request(
                    api, "DELETE", path.format(namespace=name), query=[("gracePeriodSeconds", "0")]
                )
                # Finalizers (e.g. kubernetes.io/pvc-protection) are removed by
                # controllers that do not run here.
                for item in (body or {}).get("items") or []:
                    meta = item.get("metadata", {})
                    if meta.get("finalizers"):
                        raw_request(
                            api,
                            "PATCH",
                            f"{path.format(namespace=name)}/{meta['name']}",
                            {"metadata": {"finalizers": None}},
                            content_type="application/merge-patch+json",
                        )
            raw_request(
                api,
                "PUT",
                f"/api/v1/namespaces/{name}/finalize",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "spec": {"finalizers": []}},
            )

    def stop(self) -> None:
        """Stop kube-apiserver then etcd (by pid); remove the workdir if start() created it."""
        if self._stopped:
            return
        self._stopped = True
        _stop_process(self.apiserver)
        _stop_process(self.etcd)
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def raw_request(
    api: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    query: list[tuple[str, str]] | None = None,
    accept: str = "application/json",
) -> tuple[int, Any]:
    """Send one request through ``api`` and return (status, decoded JSON or None); never raises on status."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    request = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*request)
    data = response.read()
    try:
        return response.status, json.loads(data) if data else None
    except ValueError:
        return response.status, None


_AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _namespaced_collections(api: client.ApiClient) -> list[str]:
    """Collection paths (with a {namespace} slot) of every namespaced type that supports deletecollection."""
    paths = []
    # Aggregated discovery answers for every group in two requests.
    for root in ("/api", "/apis"):
        status, body = raw_request(api, "GET", root, accept=_AGGREGATED_DISCOVERY)
        if status != 200 or not body:
            raise ControlPlaneError(f"discovery of {root} failed with HTTP {status}")
        for group in body.get("items", []):
            group_name = group.get("metadata", {}).get("name", "")
            versions = group.get("versions") or []
            if not versions:
                continue
            version = versions[0]  # the preferred version comes first
            prefix = f"/api/{version['version']}" if root == "/api" else f"/apis/{group_name}/{version['version']}"
            for res in version.get("resources") or []:
                if res.get("scope") == "Namespaced" and "deletecollection" in (res.get("verbs") or []):
                    paths.append(f"{prefix}/namespaces/{{namespace}}/{res['resource']}")
    return paths
