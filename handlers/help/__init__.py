"""`/minio help [verb]`: the commands you may run in this channel, or how to use one.

Generated from the same declarations that route the commands, so it lists only
what the caller's permissions allow for the tenants this channel sees.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.application import Capability
from bot.commands import Arg
from bot.invocation import Invocation, UserError
from bot.report import Report
from handlers.help.present import no_such_verb, verb_help, verbs_help

capability = Capability("help", __doc__)


class HelpArgs(BaseModel):
    """Arguments of `/minio help`."""

    model_config = ConfigDict(extra="forbid")
    verb: str | None = None


@capability.verb(
    "help",
    summary="Show the commands you can run here, or how to use one.",
    model=HelpArgs,
    args=(Arg("verb", "a command to explain"),),
    examples=("/minio help health",),
)
def help_command(inv: Invocation, args: HelpArgs) -> Report:
    """List the verbs the caller may run here, or explain one verb in detail."""
    tenants = inv.visible_tenants()
    allowed = [v for v in inv.registry if inv.runtime.access.may_use(inv.user, v.permission, tenants)]
    if not args.verb:
        return verbs_help(allowed, tenants)
    verb = inv.registry.get(args.verb.lower())
    if verb is None or verb not in allowed:
        raise UserError(no_such_verb(args.verb, allowed))
    return verb_help(verb)
