"""The simulated Web API: token checks and dispatch to the registered method handlers."""

from __future__ import annotations

from typing import Any

from . import auth, chat, conversations, files  # noqa: F401  (importing registers the methods)
from .core import APP, BOT, REGISTRY, ApiContext, ApiError, ApiRequest
from .files import receive_upload

__all__ = ["ApiContext", "ApiError", "ApiRequest", "WebApi", "receive_upload"]


class WebApi:
    """Answers `/api/<method>` calls against one workspace."""

    def __init__(self, ctx: ApiContext, *, bot_token: str, app_token: str) -> None:
        self.ctx = ctx
        self.tokens = {bot_token: BOT, app_token: APP}

    def is_bot_token(self, token: str | None) -> bool:
        """True for the bot token (its answers carry X-OAuth-Scopes)."""
        return token is not None and self.tokens.get(token) == BOT

    @staticmethod
    def methods() -> list[str]:
        """Every implemented method name."""
        return sorted(REGISTRY)

    def handle(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """The JSON body for one call (errors are `{"ok": false, ...}` bodies, never exceptions)."""
        entry = REGISTRY.get(method)
        if entry is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        token_kind, handler = entry
        if not token:
            return {"ok": False, "error": "not_authed"}
        kind = self.tokens.get(token)
        if kind is None:
            return {"ok": False, "error": "invalid_auth"}
        if kind != token_kind:
            return {"ok": False, "error": "not_allowed_token_type"}
        request = ApiRequest(method=method, params=params, token=token)
        try:
            with self.ctx.ws.lock:
                return handler(self.ctx, request)
        except ApiError as error:
            return error.to_response()
        except (ValueError, TypeError, AttributeError) as error:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [str(error)]}}
