"""`/minio help [verb]`: generated from the registry, listing only what the caller may run."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.application import Capability
from bot.commands import Arg, Verb, escape
from bot.invocation import Invocation, UserError
from bot.report import Report, Section


class HelpArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verb: str | None = None


def help_command(inv: Invocation, args: HelpArgs) -> Report:
    """List the verbs the caller may run here, or explain one verb in detail."""
    tenants = inv.visible_tenants()
    access = inv.runtime.access
    allowed = [v for v in inv.registry if access.may_use(inv.user, v.permission, tenants)]
    if args.verb:
        verb = inv.registry.get(args.verb.lower())
        if verb is None or verb not in allowed:
            names = ", ".join(f"`{v.name}`" for v in allowed)
            raise UserError(f"No command `{escape(args.verb, 40)}` for you here. You can run: {names}.")
        lines = [f"`{verb.usage()}`", verb.summary]
        if verb.details:
            lines.append(verb.details)
        for arg in verb.args:
            if arg.help:
                lines.append(f"• `{arg.usage().strip('[]')}`: {arg.help}")
        if verb.examples:
            lines.append("Examples: " + "  ".join(f"`{e}`" for e in verb.examples))
        return Report(title=f"/minio {verb.name}", sections=[Section(title="Usage", lines=lines)], ephemeral=True)
    lines = [f"`{v.usage()}`: {v.summary}" for v in allowed]
    names = ", ".join(f"`{t.name}`" for t in tenants) or "none"
    return Report(
        title="minio-chatops commands",
        summary=f"Tenants visible in this channel: {names}.",
        sections=[Section(title="What you can run here", lines=lines)],
        footer=["`/minio help <command>` explains one command."],
        ephemeral=True,
    )


VERB = Verb(
    name="help",
    summary="Show the commands you can run here, or how to use one.",
    model=HelpArgs,
    handler=help_command,
    args=(Arg("verb", "a command to explain"),),
    examples=("/minio help health",),
)

capability = Capability("help", __doc__)
capability.add_verb(VERB)
