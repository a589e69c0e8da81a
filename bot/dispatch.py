"""Transport-free command execution: access check, handler call, error containment.

Slack (bot/slack/app.py), the terminal shell and the scheduler all run commands and
clicks through the `Dispatcher`, so the same rules hold everywhere.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from bot.application import Application, Button, Hook
from bot.clients.errors import ClientError
from bot.commands import Command, Permission, UsageError
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation, UserError
from bot.outbox import Outbox, TerminalOutbox
from bot.redact import redact
from bot.report import Report, code, notice, spans
from bot.runtime import Runtime
from bot.store.errors import StoreError

log = logging.getLogger("minio_chatops.dispatch")

T = TypeVar("T")

RUN_BUTTON = "run"  # a button whose value is a /minio command, run in the message's thread


def new_request_id() -> str:
    """A short id that ties a user-visible error to its log line."""
    return secrets.token_hex(4)


class Dispatcher:
    """Runs parsed commands and button clicks for a caller in a channel."""

    def __init__(self, runtime: Runtime, app: Application):
        self.runtime = runtime
        self.app = app

    def parse(self, text: str) -> Command | UsageError:
        return self.app.registry.parse(text)

    def _channel_refusal(self, user: str, channel: str) -> Report | None:
        # Unknown channels get help only; nothing about tenants leaks there.
        if self.runtime.config.channel(channel) is not None:
            return None
        link = self.runtime.access.link(channel, user)  # an open incident's channel, for the people let in
        if link.admitted:
            return None  # what may be shown there is checked tenant by tenant (access.can_see)
        if link.refusal:
            return notice(link.refusal)  # an incident channel: admins too must be let in (and audited)
        if self.runtime.access.is_admin(user) or self.runtime.access.is_alert_channel(channel):
            return None  # an admin anywhere; where some channel's alerts go
        return notice(spans(
            "This channel is not set up for minio-chatops. Ask a bot admin to add it under ", code("channels"),
            " in the configuration.",
        ))

    def run(
        self,
        user: str,
        channel: str,
        command: Command,
        progress: Callable[[str], None] | None = None,
        request_id: str | None = None,
        outbox: Outbox | None = None,
        thread_ts: str | None = None,
    ) -> Report:
        """Check access, run the handler, and always return a Report (never raise)."""
        request_id = request_id or new_request_id()
        verb = command.verb

        def call() -> Report:
            if verb.name != "help":
                refusal = self._channel_refusal(user, channel)
                if refusal is not None:
                    raise _Refused(refusal)
            invocation = Invocation(
                user=user,
                channel=channel,
                runtime=self.runtime,
                app=self.app,
                progress=progress or (lambda _t: None),
                request_id=request_id,
                outbox=outbox or TerminalOutbox(),
                thread_ts=thread_ts,
            )
            tenant = invocation.tenant(command.tenant) if command.tenant else None
            decision = self.runtime.access.check(
                user, channel, verb.name, verb.required_permission(command.args), tenant
            )
            if not decision.allowed:
                raise _Refused(notice(decision.reason))
            self._fire(Hook.COMMAND_RUN, channel, user, command.text)
            return verb.handler(invocation, command.args)

        return self._contained(verb.name, request_id, call)

    def click(self, click: Click, outbox: Outbox | None = None, request_id: str | None = None) -> ClickResult:
        """Answer a button press; a failure becomes an ephemeral note to the clicker."""
        request_id = request_id or new_request_id()
        if click.action_id.split(":", 1)[0] == RUN_BUTTON:
            parsed = self.parse(click.value)
            if isinstance(parsed, UsageError):
                return ClickResult(ephemeral=notice(parsed.text))
            thread = click.thread_ts or click.message_ts
            report = self.run(click.user, click.channel, parsed, request_id=request_id, outbox=outbox,
                              thread_ts=thread)
            return ClickResult(ephemeral=report) if report.ephemeral else ClickResult(reply=report)
        button = self.app.button(click.action_id)
        if button is None:
            return ClickResult(ephemeral=notice("This button is no longer supported; run the command again."))
        found: Button = button

        def call() -> ClickResult:
            refusal = self._channel_refusal(click.user, click.channel)
            if refusal is not None:
                raise _Refused(refusal)
            invocation = Invocation(
                user=click.user,
                channel=click.channel,
                runtime=self.runtime,
                app=self.app,
                request_id=request_id,
                outbox=outbox or TerminalOutbox(),
                thread_ts=click.thread_ts or click.message_ts,
            )
            self._check_button(found, invocation, click)
            return found.handler(invocation, click)

        result = self._contained(f"button:{found.prefix}", request_id, call)
        return ClickResult(ephemeral=result) if isinstance(result, Report) else result

    def _check_button(self, button: Button, inv: Invocation, click: Click) -> None:
        """The button's declared permission, on the tenant it acts on (raises _Refused)."""
        name = button.tenant(inv, click) if button.tenant else None
        tenant = inv.tenant(name) if name else None
        if tenant is None and button.permission == Permission.VIEW:
            return
        decision = self.runtime.access.check(click.user, click.channel, button.prefix, button.permission, tenant)
        if not decision.allowed:
            raise _Refused(notice(decision.reason))

    def _fire(self, hook: Hook, *args: object) -> None:
        """Call every listener of ``hook``; a listener's failure is logged, never raised."""
        self.app.fire(hook, self.runtime, *args)

    def _contained(self, name: str, request_id: str, call: Callable[[], T]) -> T | Report:
        started = time.monotonic()
        outcome = "ok"
        try:
            return call()
        except _Refused as refused:
            outcome = "denied"
            return refused.report
        except UserError as exc:
            outcome = "rejected"
            return notice(exc.text)
        except ClientError as exc:
            outcome = "error"
            log.warning("client error", extra={"request_id": request_id, "verb": name, "error": str(exc)})
            return notice(spans(code(name), " could not finish: ", str(exc)[:300]))
        except StoreError as exc:
            outcome = "error"
            log.warning("store error", extra={"request_id": request_id, "verb": name, "error": str(exc)})
            return notice(spans(
                code(name), " could not finish: the bot's state store is unavailable right now. Try again in a minute."
            ))
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
                    "verb": name,
                    "error_type": type(exc).__name__,
                    "where": where,
                    "error": redact(str(exc))[:500],
                },
            )
            return notice(spans(code(name), " failed unexpectedly (error id ", code(request_id),
                                "). The bot admins can look it up."))
        finally:
            elapsed = time.monotonic() - started
            self.runtime.metrics.command_done(name, outcome, elapsed)
            log.info("command done", extra={"request_id": request_id, "verb": name, "outcome": outcome,
                                            "seconds": round(elapsed, 3)})


class _Refused(Exception):
    """Internal: stop with this report (a denial)."""

    def __init__(self, report: Report):
        super().__init__(report.summary)
        self.report = report
