"""What a handler receives: who asked, where, and the runtime to reach tenants through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.config import TenantConfig
from bot.outbox import Outbox, TerminalOutbox
from bot.report import Text, code, join, spans

if TYPE_CHECKING:
    from bot.application import Application
    from bot.commands import Registry
    from bot.runtime import Runtime


class UserError(Exception):
    """A problem with what the caller asked for; ``text`` is shown to them as-is (ephemeral)."""

    def __init__(self, text: Text):
        super().__init__(text if isinstance(text, str) else "".join(str(getattr(s, "text", s)) for s in text))
        self.text = text


def _no_progress(_text: str) -> None:
    return None


@dataclass
class Invocation:
    """One run of a verb by one person in one channel."""

    user: str
    channel: str
    runtime: Runtime
    app: Application
    progress: Callable[[str], None] = field(default=_no_progress)
    request_id: str = ""
    outbox: Outbox = field(default_factory=TerminalOutbox)
    thread_ts: str | None = None  # the thread the command was run in (a button in a thread)

    @property
    def registry(self) -> Registry:
        """Every verb the bot serves (for help)."""
        return self.app.registry

    def visible_tenants(self) -> list[TenantConfig]:
        """Tenants this channel may see (an incident channel: for this caller), in configuration order."""
        return self.runtime.access.visible_tenants(self.channel, self.runtime.tenants(), self.user)

    def tenant(self, name: str) -> TenantConfig:
        """The named tenant if this channel may see it; otherwise a UserError that says which."""
        tenant = self.runtime.find_tenant(name)
        if tenant is not None:
            if not self.runtime.access.can_see(self.channel, tenant, self.user):
                refusal = self.runtime.access.link(self.channel, self.user).refusal  # an incident channel: why
                raise UserError(refusal or spans("Tenant ", code(name[:63]), " is not visible in this channel."))
            return tenant
        visible = join([spans(code(t.name)) for t in self.visible_tenants()]) or ("none",)
        raise UserError(spans("Unknown tenant ", code(name[:63]), ". Tenants here: ", visible, "."))

    def tenants_or_one(self, name: str | None) -> list[TenantConfig]:
        """`[tenant]` when named, else every tenant visible here (a UserError when there are none)."""
        if name:
            return [self.tenant(name)]
        tenants = self.visible_tenants()
        if not tenants:
            raise UserError(self.runtime.access.link(self.channel, self.user).refusal
                            or "No tenants are visible in this channel. Ask an admin to add it to a tenant's channels.")
        return tenants
