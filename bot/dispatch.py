"""Transport-free command execution: access check, handler call, error containment.

Slack (bot/app.py), the terminal shell and the scheduler all run commands
through `Dispatcher.run`, so the same rules hold everywhere.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from bot.clients.errors import ClientError
from bot.commands import Command, Registry, UsageError, escape
from bot.invocation import Invocation, UserError
from bot.redact import redact
from bot.reports import Report, notice
from bot.runtime import Runtime

log = logging.getLogger("minio_chatops.dispatch")


def new_request_id() -> str:
    """A short id that ties a user-visible error to its log line."""
    return secrets.token_hex(4)


class Dispatcher:
    """Runs parsed commands for a caller in a channel."""

    def __init__(self, runtime: Runtime, registry: Registry):
        self.runtime = runtime
        self.registry = registry

    def parse(self, text: str) -> Command | UsageError:
        return self.registry.parse(text)

    def run(
        self,
        user: str,
        channel: str,
        command: Command,
        progress: Callable[[str], None] | None = None,
        request_id: str | None = None,
    ) -> Report:
        """Check access, run the handler, and always return a Report (never raise)."""
        request_id = request_id or new_request_id()
        started = time.monotonic()
        verb = command.verb
        outcome = "ok"
        try:
            if self.runtime.config.channel(channel) is None and not self.runtime.access.is_admin(user):
                # Unknown channels get help only; nothing about tenants leaks there.
                if verb.name != "help":
                    outcome = "denied"
                    return notice(
                        "This channel is not set up for minio-chatops. "
                        "Ask a bot admin to add it under `channels` in the configuration."
                    )
            tenant = None
            if command.tenant:
                tenant = Invocation(user, channel, self.runtime, self.registry).tenant(command.tenant)
            decision = self.runtime.access.check(
                user, channel, verb.name, verb.required_permission(command.args), tenant
            )
            if not decision.allowed:
                outcome = "denied"
                return notice(decision.reason)
            invocation = Invocation(
                user=user,
                channel=channel,
                runtime=self.runtime,
                registry=self.registry,
                progress=progress or (lambda _t: None),
                request_id=request_id,
            )
            return verb.handler(invocation, command.args)
        except UserError as exc:
            outcome = "rejected"
            return notice(str(exc))
        except ClientError as exc:
            outcome = "error"
            log.warning("client error", extra={"request_id": request_id, "verb": verb.name, "error": str(exc)})
            return notice(f"`{verb.name}` could not finish: {escape(str(exc), 300)}")
        except Exception as exc:  # noqa: BLE001 - the caller gets a short message; the log keeps the cause
            outcome = "error"
            frame = exc.__traceback__
            while frame is not None and frame.tb_next is not None:
                frame = frame.tb_next
            where = f"{frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno}" if frame else "?"
            # No traceback in logs either (it can carry secrets); type, place and redacted message suffice.
            log.error(
                "handler failed",
                extra={
                    "request_id": request_id,
                    "verb": verb.name,
                    "error_type": type(exc).__name__,
                    "where": where,
                    "error": redact(str(exc))[:500],
                },
            )
            return notice(
                f"`{verb.name}` failed unexpectedly (error id `{request_id}`). The bot admins can look it up."
            )
        finally:
            self.runtime.metrics.command_done(verb.name, outcome, time.monotonic() - started)
