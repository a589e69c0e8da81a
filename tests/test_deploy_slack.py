"""deploy/slack-app-manifest*.yaml: /minio, interactivity, Socket Mode, and exactly the scopes the code needs.

The Web API methods are found in the code itself (bot/ and handlers/):
``api_call("m")``, the bot's ``_call("m")`` / ``_api("m")`` / ``Delivery.call("m")`` wrappers, and
``client.<method>(`` for WebClient methods, which are expanded to the API
methods slack_sdk sends (``files_upload_v2`` is two). Each method maps to its
scope in ``bot/clients/slack_scopes.py``; a method without a row, or a scope the
manifest or ``REQUIRED_SCOPES`` (what the doctor checks) lacks or has in excess, fails.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.clients.slack_scopes import FEATURE_SCOPES, METHOD_SCOPES, PRIVATE_CHANNEL_SCOPES, REQUIRED_SCOPES

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = {
    "socket": ROOT / "deploy" / "slack-app-manifest.yaml",
    "http": ROOT / "deploy" / "slack-app-manifest-http.yaml",
}
CODE_DIRS = ("bot", "handlers")

_LITERAL_CALL = re.compile(r"""(?:\bapi_call|\b_?call|\b_api)\(\s*["']([a-z]+(?:\.[A-Za-z]+)+)["']""")
_CLIENT_METHOD = re.compile(r"client\.([a-z][a-z0-9]*_[A-Za-z0-9_]+)\(")
_SDK_API_CALL = re.compile(r"""self\.api_call\(\s*["']([a-z]+(?:\.[A-Za-z]+)+)["']""")
_SDK_SELF_METHOD = re.compile(r"\bself\.([a-z][a-z0-9]*_[A-Za-z0-9_]+)\(")
_PRIVATE_CREATE = re.compile(
    r"""["']conversations\.create["'][^)]*\bis_private\s*=|conversations_create\([^)]*\bis_private\s*="""
)


@functools.cache
def sdk_methods(name: str) -> frozenset[str]:
    """Web API methods a WebClient method sends, following its calls to other WebClient methods."""
    source = inspect.getsource(getattr(WebClient, name))
    found = set(_SDK_API_CALL.findall(source))
    for other in _SDK_SELF_METHOD.findall(source):
        if other != name and callable(getattr(WebClient, other, None)) and other != "api_call":
            found |= sdk_methods(other)
    return frozenset(found)


def methods_in_code() -> dict[str, set[str]]:
    """Web API method -> the files that call it."""
    found: dict[str, set[str]] = {}
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            where = str(path.relative_to(ROOT))
            methods = set(_LITERAL_CALL.findall(text))
            for name in _CLIENT_METHOD.findall(text):
                # Only WebClient's own methods; MinIO and Kubernetes clients have others.
                if name != "api_call" and callable(getattr(WebClient, name, None)):
                    methods |= sdk_methods(name)
            for method in methods:
                found.setdefault(method, set()).add(where)
    return found


def creates_private_channels() -> bool:
    """Whether the code creates private channels (a `conversations.create` call passing `is_private`)."""
    return any(
        _PRIVATE_CREATE.search(path.read_text(encoding="utf-8"))
        for folder in CODE_DIRS
        for path in (ROOT / folder).rglob("*.py")
    )


def manifest(kind: str) -> dict[str, Any]:
    """A parsed app manifest."""
    data: dict[str, Any] = yaml.safe_load(MANIFESTS[kind].read_text(encoding="utf-8"))
    return data


def needed_scopes(methods: set[str], private_channels: bool | None = None) -> set[str]:
    """Bot scopes for these Web API methods plus the slash command (and private channels' when it makes them)."""
    unknown = sorted(m for m in methods if m not in METHOD_SCOPES)
    assert not unknown, f"add these Slack methods (and their scopes) to METHOD_SCOPES: {unknown}"
    scopes = FEATURE_SCOPES.union(*(METHOD_SCOPES[m] for m in methods))
    if creates_private_channels() if private_channels is None else private_channels:
        scopes |= set().union(*(PRIVATE_CHANNEL_SCOPES.get(m, set()) for m in methods))
    return scopes


def bot_scopes(kind: str) -> set[str]:
    """The manifest's bot scopes (and nothing else is requested)."""
    scopes = manifest(kind)["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user-token scopes"
    assert len(scopes["bot"]) == len(set(scopes["bot"]))
    return set(scopes["bot"])


@pytest.mark.parametrize("kind", sorted(MANIFESTS))
def test_the_manifest_lists_exactly_the_scopes_the_code_calls(kind: str) -> None:
    used = methods_in_code()
    assert bot_scopes(kind) == needed_scopes(set(used)), f"methods in use: {sorted(used)}"


def test_the_doctor_checks_exactly_the_scopes_the_code_calls() -> None:
    assert set(REQUIRED_SCOPES) == needed_scopes(set(methods_in_code()))


def test_a_new_call_without_its_scope_is_caught() -> None:
    used = set(methods_in_code())
    assert needed_scopes(used | {"reactions.add"}) - bot_scopes("socket") == {"reactions:write"}
    with pytest.raises(AssertionError, match="METHOD_SCOPES"):
        needed_scopes(used | {"admin.users.invite"})


def test_private_incident_channels_need_the_private_channel_scopes() -> None:
    used = set(methods_in_code())
    assert creates_private_channels(), "incident channels are created private (conversations.create is_private)"
    assert {"groups:write", "groups:read"} <= bot_scopes("socket")
    # groups:read stays without private incident channels: the doctor asks conversations.info of private ones.
    assert needed_scopes(used, private_channels=False) == bot_scopes("socket") - {"groups:write"}
    assert _PRIVATE_CREATE.search('self._api("conversations.create", name=name, is_private=private)')
    assert not _PRIVATE_CREATE.search('self._api("conversations.create", name=name)')


def test_the_install_guide_and_the_manifest_comment_name_the_same_scopes() -> None:
    scopes = bot_scopes("socket")
    known = FEATURE_SCOPES.union(*METHOD_SCOPES.values(), *PRIVATE_CHANNEL_SCOPES.values())
    guide = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    section = guide.split("## The Slack app: install in your workspace", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`([a-z]+(?::[a-z.]+)?)`", section)) & known == scopes
    header = MANIFESTS["socket"].read_text(encoding="utf-8").split("display_information:", 1)[0]
    assert set(re.findall(r"^#\s+([a-z]+(?::[a-z.]+)?)\s", header, re.M)) & known == scopes


def test_the_scan_sees_the_calls_it_must() -> None:
    # Guards the scanner itself: these calls are known to exist.
    used = methods_in_code()
    assert {"chat.postMessage", "chat.update", "usergroups.users.list", "conversations.create", "pins.add"} <= set(used)
    assert {"conversations.invite", "conversations.members", "auth.test"} <= set(used), "incident channel members"
    assert {"files.getUploadURLExternal", "files.completeUploadExternal"} <= set(used), "files_upload_v2 expands"
    assert "files.upload" not in used, "files.upload is retired"


@pytest.mark.parametrize("kind", sorted(MANIFESTS))
def test_the_manifest_has_the_minio_command_and_interactivity(kind: str) -> None:
    app = manifest(kind)
    [command] = app["features"]["slash_commands"]
    assert command["command"] == "/minio"
    assert command["should_escape"] is False
    assert len(app["display_information"]["description"]) <= 140
    assert 175 <= len(app["display_information"]["long_description"]) <= 4000
    assert app["features"]["bot_user"]["display_name"] == "minio-chatops"
    settings = app["settings"]
    assert settings["interactivity"]["is_enabled"] is True  # approval buttons and forms
    assert settings["token_rotation_enabled"] is False
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"], "the Home tab, nothing else"
    assert app["features"]["app_home"]["home_tab_enabled"] is True
    if kind == "socket":
        assert settings["socket_mode_enabled"] is True
        assert "url" not in command and "request_url" not in settings["interactivity"]
        assert "request_url" not in settings["event_subscriptions"]
    else:
        assert settings["socket_mode_enabled"] is False
        assert command["url"].endswith("/slack/events")
        assert settings["interactivity"]["request_url"] == command["url"]
        assert settings["event_subscriptions"]["request_url"] == command["url"]


def test_both_manifests_describe_the_same_app() -> None:
    socket, http = manifest("socket"), manifest("http")
    for app in (socket, http):
        app["settings"].pop("socket_mode_enabled")
        app["settings"]["interactivity"].pop("request_url", None)
        app["settings"]["event_subscriptions"].pop("request_url", None)
        app["features"]["slash_commands"][0].pop("url", None)
    assert socket == http


def test_the_bot_listens_only_for_what_the_manifest_enables() -> None:
    source = (ROOT / "bot" / "slack" / "app.py").read_text(encoding="utf-8")
    listeners = set(re.findall(r"\bapp\.(\w+)\(", source))
    # Commands need the slash command; actions and views need interactivity; events need subscriptions.
    assert listeners <= {"command", "action", "view", "event", "error"}, listeners
    events = set(re.findall(r"\bapp\.event\(\s*[\"']([a-z_]+)[\"']", source))
    assert events == set(manifest("socket")["settings"]["event_subscriptions"]["bot_events"])
