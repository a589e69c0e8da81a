"""Dockerfile: what can be verified without a Docker engine.

The Dockerfile is parsed and linted (multi-stage, numeric non-root USER, no
remote ADD, no build tools or pip index in the final stage, no secrets), its
settings are checked against the Deployment, and the wheel is built exactly as
its build stage builds it: from a context holding only what the build stage
COPYs, with ``pip wheel`` (``--no-deps``: the dependency wheels are pinned
in pyproject.toml and not ours to inspect).
"""

from __future__ import annotations

import email
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.test_deploy import BOT_UID, MULTI, render, the

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
PACKAGES = ("bot", "handlers")  # the image's wheel; the sandbox (simulators) stays out of production
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|make|build-essential|git|curl|wget|cargo|rustc|pip wheel)\b")
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE)", re.I)
SECRET_FILE = re.compile(
    r"(\.env$|\.pem$|\.key$|id_rsa|id_ed25519|kubeconfig|\.kube/|(^|/)credentials(\.json)?$|\.netrc$|\.npmrc$)"
)
SECRET_TEXT = re.compile(rb"xox[abpr]-[0-9A-Za-z-]{10,}|xapp-\d-[0-9A-Za-z-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----")


@dataclass
class Stage:
    """One FROM ... section of the Dockerfile."""

    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """Arguments of every instruction ``keyword`` (upper case), in order."""
        return [args for key, args in self.instructions if key == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages with their (INSTRUCTION, arguments) pairs; comments dropped, continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, args))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The parsed Dockerfile."""
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def exec_form(args: str) -> list[str]:
    """["a", "b"] exec-form arguments as a list."""
    assert args.startswith("["), f"use the exec form (JSON array), not {args!r}"
    return [str(a) for a in json.loads(args)]


# ---------------------------------------------------------------- lint


def test_it_is_multi_stage_from_pinned_slim_images(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "build tools stay in the build stage"
    for stage in stages:
        assert ":" in stage.image and not stage.image.endswith(":latest"), stage.image
    assert stages[-1].image == stages[0].image, "runtime and build use the same Python"
    assert stages[-1].image.startswith("python:3.11-slim")


def test_the_final_stage_runs_as_a_numeric_non_root_user(stages: list[Stage]) -> None:
    users = stages[-1].all("USER")
    assert users, "the final stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets runAsNonRoot verify it"
    assert not gid or (gid.isdigit() and int(gid) != 0)
    assert int(uid) == BOT_UID
    # Nothing after USER switches back.
    last_user = max(i for i, (key, _) in enumerate(stages[-1].instructions) if key == "USER")
    assert all(key != "RUN" for key, _ in stages[-1].instructions[last_user:])


def test_the_final_stage_has_no_build_tools_no_index_and_no_sources(stages: list[Stage]) -> None:
    final = stages[-1]
    for run in final.all("RUN"):
        assert not BUILD_TOOLS.search(run), f"build tools in the final stage: {run}"
        assert "apt-get install" not in run and "apk add" not in run, run
        if "pip install" in run:
            assert "--no-index" in run and "--no-cache-dir" in run, "install only the build stage's wheels"
            assert "from=build" in run, "wheels come from the build stage, not a registry"
    for copy in final.all("COPY"):
        words = [w for w in shlex.split(copy) if not w.startswith("--")]
        assert words[:-1] == ["runbooks"], f"the final stage copies data, never sources: {copy}"
    assert not final.all("ADD") and not any(s.all("ADD") for s in stages), "no ADD (remote URLs, archives)"


def test_no_secrets_are_baked_in(stages: list[Stage]) -> None:
    for stage in stages:
        for keyword in ("ENV", "ARG"):
            for args in stage.all(keyword):
                names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
                assert not any(SECRET_NAME.search(n) for n in names), f"{keyword} {args}"
        for copy in stage.all("COPY"):
            sources = [w for w in shlex.split(copy) if not w.startswith("--")][:-1]
            assert "." not in sources and "./" not in sources, "COPY named folders only (no whole context)"
            assert not any(SECRET_FILE.search(s) for s in sources), copy
        for run in stage.all("RUN"):
            assert not re.search(r"(curl|wget)[^|]*\|\s*(ba)?sh", run), run
            assert "--mount=type=secret" not in run or "pip" not in run


def test_the_image_settings_match_the_deployment(stages: list[Stage]) -> None:
    final = stages[-1]
    deployment = the(render(MULTI), "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert [int(p.split("/")[0]) for p in " ".join(final.all("EXPOSE")).split()] == [
        p["containerPort"] for p in container["ports"]
    ]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    [entrypoint] = final.all("ENTRYPOINT")
    assert exec_form(entrypoint) == ["minio-chatops"] and "minio-chatops" in scripts
    [cmd] = final.all("CMD")
    assert exec_form(cmd) == container["args"] == ["run"]
    env = dict(re.findall(r"([A-Z_]+)=(\S+)", " ".join(final.all("ENV"))))
    deployment_env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MINIO_CHATOPS_CONFIG"] == deployment_env["MINIO_CHATOPS_CONFIG"]
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1", "the root filesystem is read-only at run time"


# ---------------------------------------------------------------- the wheel, built as the build stage builds it


@pytest.fixture(scope="module")
def built(stages: list[Stage], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, context): the build stage's COPYs into a fresh context, then its `pip wheel` with --no-deps."""
    build = stages[0]
    context = tmp_path_factory.mktemp("docker-context")
    for copy in build.all("COPY"):
        words = [w for w in shlex.split(copy) if not w.startswith("--")]
        *sources, dest = words
        for source in sources:
            src = ROOT / source
            copied = context / (source if dest in ("./", ".") else dest.removeprefix("./"))
            if src.is_dir():
                shutil.copytree(src, copied, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(src, copied)
    [pip_wheel] = [r for r in build.all("RUN") if "pip wheel" in r]
    argv = shlex.split(pip_wheel)
    assert argv[:2] == ["pip", "wheel"], pip_wheel
    wheels = tmp_path_factory.mktemp("wheels")
    # Same command, our interpreter; the project only (dependencies are pinned wheels from the index).
    args = [a for a in argv[2:] if not a.startswith("--wheel-dir") and a != "/wheels"]
    project = next(a for a in args if a.startswith(".")).replace(".", str(context), 1)
    options = [a for a in args if a.startswith("--")]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *options, "--wheel-dir", str(wheels), project],
        capture_output=True, text=True, timeout=600, check=False, cwd=context,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    [wheel] = wheels.glob("minio_chatops-*.whl")
    return wheel, context


def test_the_wheel_holds_exactly_the_code_ci_tests(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {*PACKAGES, next(t for t in top if t.endswith(".dist-info"))}, top
    modules = {n for n in names if n.endswith(".py")}
    source = {
        str(p.relative_to(ROOT)) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts
    }
    assert modules == source, f"missing: {sorted(source - modules)} extra: {sorted(modules - source)}"
    assert not [n for n in names if n.startswith("sandbox/")], "no simulator in the production image"


def test_the_image_without_the_sandbox_says_so_for_demo_and_shell(built: tuple[Path, Path], tmp_path: Path) -> None:
    wheel, _ = built
    install = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(install), str(wheel)],
        capture_output=True, check=True, timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(install)}
    # This test's own environment has the source checkout installed (editable), sandbox included:
    # hide it the way an image without it would look.
    probe = (
        "import sys\n"
        "class NoSandbox:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'sandbox':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoSandbox())\n"
        "from bot.cli import main\n"
        "assert main.__module__ == 'bot.cli' and sys.modules['bot'].__file__.startswith(sys.argv[1])\n"
        "sys.exit(main(sys.argv[2:]))\n"
    )
    for argv in (["demo"], ["shell", "--sandbox", "-c", "/minio help"]):
        done = subprocess.run([sys.executable, "-c", probe, str(install), *argv],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "sandbox" in done.stderr and "not installed" in done.stderr and "Traceback" not in done.stderr


def test_the_wheel_holds_no_tests_and_no_secrets(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            assert not name.startswith("tests/") and "/tests/" not in name, name
            assert not SECRET_FILE.search(name), name
            assert not SECRET_TEXT.search(archive.read(name)), f"{name} holds something that looks like a secret"


def test_the_wheel_declares_the_pinned_dependencies_and_the_entry_point(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(info))
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    requires = {(r.name.lower(), r.specifier) for r in declared if r.marker is None}
    assert {(r.name.lower(), r.specifier) for r in map(Requirement, project["dependencies"])} == requires
    assert "minio-chatops = bot.cli:main" in entry_points


def test_the_installed_code_finds_the_runbooks_the_image_ships(
    built: tuple[Path, Path], stages: list[Stage], tmp_path: Path
) -> None:
    wheel, _ = built
    install = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(install), str(wheel)],
        capture_output=True, check=True, timeout=300,
    )
    final = stages[-1]
    [runbooks_copy] = [c for c in final.all("COPY") if c.split()[0] == "runbooks"]
    shipped = Path(runbooks_copy.split()[-1])
    image_env = dict(re.findall(r"([A-Z_]+)=(\S+)", " ".join(final.all("ENV"))))
    probe = "import handlers, handlers.runbooks as r; print(handlers.__file__); print(r.runbooks_dir())"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path,
        env={**os.environ, **image_env, "PYTHONPATH": str(install)},
    )
    package_file, runbooks_dir = done.stdout.split()
    assert package_file.startswith(str(install)), "the probe imported the installed wheel"
    looked_at = Path(runbooks_dir)
    # In the image the code finds runbooks either inside the installed package or where the Dockerfile copies them.
    assert looked_at == shipped or (looked_at.is_dir() and any(looked_at.rglob("*.md"))), (
        f"the code reads runbooks from {looked_at}; the image ships them at {shipped}"
    )
    for group in ("daily", "weekly", "monthly", "emergency"):
        assert any((ROOT / "runbooks" / group).glob("*.md")), group
