"""auth.test: who the token belongs to (its scopes travel in the X-OAuth-Scopes header)."""

from __future__ import annotations

from typing import Any

from .core import ApiContext, ApiRequest, api_method


@api_method("auth.test")
def auth_test(ctx: ApiContext, req: ApiRequest) -> dict[str, Any]:
    """The workspace and bot user behind the bot token."""
    ws = ctx.ws
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_domain,
        "user": "minio-chatops",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }
