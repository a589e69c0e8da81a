"""What the doctor asks Slack about the installation: the token and its scopes, channels, user groups.

Capabilities see only :class:`SlackProbe` and plain results; the Slack calls
themselves (``auth.test``, ``conversations.info``, ``usergroups.users.list``)
are made here, with the bot's WebClient (its timeout and retry policy), and
their failures become :class:`~bot.clients.errors.ClientError` like every
other client's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.clients.errors import ClientError, ErrorKind

TARGET = "Slack"
_ERROR_KINDS: dict[str, ErrorKind] = {
    "invalid_auth": "auth",
    "not_authed": "auth",
    "account_inactive": "auth",
    "token_revoked": "auth",
    "token_expired": "auth",
    "missing_scope": "forbidden",
    "not_allowed_token_type": "auth",
    "channel_not_found": "not_found",
    "no_such_subteam": "not_found",
    "plan_upgrade_required": "unavailable",
    "ratelimited": "unavailable",
}


@dataclass(frozen=True)
class SlackIdentity:
    """Whom the bot token belongs to and what it may do (``scopes`` None: Slack did not say)."""

    team: str
    bot_user: str
    scopes: frozenset[str] | None


@dataclass(frozen=True)
class ChannelMembership:
    """A channel as the bot sees it."""

    channel: str
    name: str
    member: bool
    archived: bool = False


class SlackProbe(Protocol):
    """Read-only questions about the installation; each raises ClientError when Slack says no."""

    def identity(self) -> SlackIdentity:
        """``auth.test`` with the bot token."""

    def channel(self, channel_id: str) -> ChannelMembership:
        """``conversations.info``: does the channel exist for the bot, and is the bot in it."""

    def group_size(self, group_id: str) -> int:
        """``usergroups.users.list``: how many people the user group has."""


class WebClientProbe:
    """:class:`SlackProbe` over the bot's WebClient."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def _api(self, method: str, **params: Any) -> Any:
        try:
            return self._client.api_call(method, params=params)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            detail = f"{method}: {error}"
            if error == "missing_scope" and exc.response.get("needed"):
                detail += f" (needs {exc.response.get('needed')})"
            raise ClientError(_ERROR_KINDS.get(error, "invalid"), TARGET, detail) from None
        except SlackClientError as exc:
            raise ClientError("unreachable", TARGET, f"{method}: {type(exc).__name__}") from None
        except OSError as exc:
            raise ClientError("unreachable", TARGET, f"{method}: {type(exc).__name__}") from None

    def identity(self) -> SlackIdentity:
        response = self._api("auth.test")
        headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
        raw = headers.get("x-oauth-scopes")
        if isinstance(raw, list):
            raw = ",".join(raw)
        scopes = frozenset(s.strip() for s in raw.split(",") if s.strip()) if isinstance(raw, str) else None
        return SlackIdentity(team=str(response.get("team") or ""), bot_user=str(response.get("user_id") or ""),
                             scopes=scopes)

    def channel(self, channel_id: str) -> ChannelMembership:
        info = self._api("conversations.info", channel=channel_id).get("channel") or {}
        return ChannelMembership(channel=channel_id, name=str(info.get("name") or ""),
                                 member=bool(info.get("is_member")), archived=bool(info.get("is_archived")))

    def group_size(self, group_id: str) -> int:
        return len(self._api("usergroups.users.list", usergroup=group_id).get("users") or [])
