"""What a handler receives: who asked, where, and the runtime to reach tenants through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.commands import escape
from bot.config import TenantConfig
from bot.outbox import Outbox, TerminalOutbox

if TYPE_CHECKING:
    from bot.commands import Registry
    from bot.runtime import Runtime


class UserError(Exception):
    """A problem with what the caller asked for; the message is shown to them as-is (ephemeral)."""


def _no_progress(_text: str) -> None:
    return None


@dataclass
class Invocation:
    """One run of a verb by one person in one channel."""

    user: str
    channel: str
    runtime: Runtime
    registry: Registry
    progress: Callable[[str], None] = field(default=_no_progress)
    request_id: str = ""
    outbox: Outbox = field(default_factory=TerminalOutbox)
    thread_ts: str | None = None  # the thread the command was run in (a button in a thread)

    def visible_tenants(self) -> list[TenantConfig]:
        """Tenants this channel may see, in configuration order."""
        return self.runtime.access.visible_tenants(self.channel, self.runtime.tenants())

    def tenant(self, name: str) -> TenantConfig:
        """The named tenant if this channel may see it; otherwise a UserError that says which."""
        for tenant in self.runtime.tenants():
            if tenant.name == name:
                if not self.runtime.access.can_see(self.channel, tenant):
                    raise UserError(f"Tenant `{escape(name, 63)}` is not visible in this channel.")
                return tenant
        visible = ", ".join(f"`{t.name}`" for t in self.visible_tenants()) or "none"
        raise UserError(f"Unknown tenant `{escape(name, 63)}`. Tenants here: {visible}.")

    def tenants_or_one(self, name: str | None) -> list[TenantConfig]:
        """`[tenant]` when named, else every tenant visible here (a UserError when there are none)."""
        if name:
            return [self.tenant(name)]
        tenants = self.visible_tenants()
        if not tenants:
            raise UserError("No tenants are visible in this channel. Ask an admin to add it to a tenant's channels.")
        return tenants
