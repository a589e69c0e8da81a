"""The application object: where capabilities declare what they offer.

A capability (a package under ``handlers/``) owns one :class:`Capability` and
declares on it, in one style, everything the framework routes to it::

    capability = Capability("capacity", __doc__)

    @capability.verb("capacity", summary="...", model=CapacityArgs, args=(Arg("tenant"),))
    def capacity(inv: Invocation, args: CapacityArgs) -> Report: ...

    @capability.button("remediate", permission=Permission.REQUEST, tenant=tenant_of_click)
    def on_remediate(inv: Invocation, click: Click) -> ClickResult: ...

    capability.change_kind(PodDelete())

    @capability.job(Job.SNAPSHOT)
    def take_snapshot(runtime: Runtime, tenant: TenantConfig) -> None: ...

    @capability.hook(Hook.COMMAND_RUN)
    def record_command(runtime: Runtime, channel: str, user: str, text: str) -> None: ...

The composition root (``bot.composition``, used by the CLI) loads capability
packages *by name*, so nothing under ``bot/`` imports ``handlers``.
The framework owns routing, permissions (verbs and buttons alike), help,
scheduling, retries and error containment; a capability's functions stay plain
functions that a test, the shell and the scheduler can all call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from bot.commands import Arg, Permission, Registry, Verb

if TYPE_CHECKING:
    from bot.changes import ChangeKind
    from bot.interactions import Click, ClickResult
    from bot.invocation import Invocation
    from bot.report import Report

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("minio_chatops.application")


class Job(StrEnum):
    """Scheduled work a capability can provide. The scheduler owns *when* (triggers, leadership,
    exactly-once claims, retries); the capability only says *what*.

    Signatures (checked by the scheduler's call sites):
    - DAILY_REPORT: ``(runtime, outbox, channel_id, scheduled_for, now) -> object``; posts the report with
      ``outbox.post(channel_id, report)`` and raises when that fails. The outbox it gets is the scheduler's
      (``bot.slot_delivery.KeyedOutbox``): it keys that post for exactly-once delivery; the job never retries.
    - DAILY_CHECKLIST: ``(runtime, channel_id, outbox) -> object``
    - SNAPSHOT: ``(runtime, tenant) -> object`` (one tenant; the scheduler fans out)
    - ALERTS: ``(runtime, outbox, now) -> list`` of the changes found, each with a ``tenant`` attribute
      (the framework refreshes the App Home tabs that show those tenants)
    - EXPIRE: ``(runtime, outbox, now) -> object``
    - EXECUTIONS: ``(runtime, outbox, now, kinds) -> object``, every few seconds on the leader: what stopped
      processes left half-way (``kinds`` is :meth:`Application.change_kind`, to resume them)
    - BACKUP_VERIFY: ``(runtime, outbox, tenant, now) -> object``, one tenant with a backup location whose
      verification is due (``backup.verify_every_hours``); the scheduler claims the slot, the job verifies
      and alerts (de-duplicated in its alert state)
    """

    DAILY_REPORT = "daily-report"
    DAILY_CHECKLIST = "daily-checklist"
    SNAPSHOT = "snapshot"
    ALERTS = "alerts"
    EXPIRE = "expire"
    EXECUTIONS = "executions"
    BACKUP_VERIFY = "backup-verify"


class Hook(StrEnum):
    """Events a capability may listen to. Hooks never fail the event that fired them.

    - COMMAND_RUN: ``(runtime, channel, user, text) -> None``, after access was granted, before the handler.
    - CHANNEL_EVENT: ``(runtime, channel, actor, kind, text) -> None``, fired by a capability (with
      :meth:`Application.fire`) when it did something in a channel for someone: a checklist posted, a
      step ticked. The incident timeline records these without the firing capability knowing incidents.
    - ALERT_NOTIFICATION: ``(runtime, outbox, notification) -> None``, on the work queue, for each new
      Alertmanager notification (``bot.webhooks.AlertNotification``) the receiver accepted. Raising means
      "not handled": the delivery is forgotten, so Alertmanager's next retry or repeat is handled again.
    """

    COMMAND_RUN = "command-run"
    CHANNEL_EVENT = "channel-event"
    ALERT_NOTIFICATION = "alert-notification"


TenantOf = Callable[["Invocation", "Click"], "str | None"]
# The App Home tab: ``(runtime, user, page) -> Report``, from stored state only (it runs on every open).
HomeView = Callable[..., "Report"]


@dataclass(frozen=True)
class Button:
    """Routes action ids ``<prefix>`` and ``<prefix>:<anything>`` to ``handler``.

    ``permission`` is checked by the framework before the handler runs, against
    the tenant named by ``tenant(inv, click)`` (``None``: no tenant, e.g. a
    checklist tick, where only the channel's own access applies).
    """

    prefix: str
    handler: Callable[[Invocation, Click], ClickResult]
    permission: Permission = Permission.VIEW
    tenant: TenantOf | None = None


@dataclass
class Capability:
    """One capability's declarations: verbs, buttons, change kinds, jobs and hooks."""

    name: str
    doc: str | None = ""
    verbs: list[Verb[Any]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    change_kinds: list[ChangeKind] = field(default_factory=list)
    jobs: dict[Job, Callable[..., object]] = field(default_factory=dict)
    hooks: dict[Hook, list[Callable[..., None]]] = field(default_factory=dict)
    home_view: HomeView | None = None

    def home(self, func: HomeView) -> HomeView:
        """Declare the function that builds a user's App Home tab ``(runtime, user, page) -> Report``."""
        if self.home_view is not None:
            raise ValueError(f"{self.name}: home declared twice")
        self.home_view = func
        return func

    def verb(
        self,
        name: str,
        *,
        summary: str,
        model: type[Any],
        args: tuple[Arg, ...] = (),
        permission: Permission = Permission.VIEW,
        permission_for: Callable[[Any], Permission] | None = None,
        details: str = "",
        examples: tuple[str, ...] = (),
        slow: bool = False,
        usage_override: str | None = None,
    ) -> Callable[[F], F]:
        """Declare a ``/minio <name>`` verb answered by the decorated function ``(inv, args) -> Report``."""

        def register(handler: F) -> F:
            self.verbs.append(
                Verb(
                    name=name, summary=summary, model=model, handler=handler, args=args, permission=permission,
                    permission_for=permission_for, details=details, examples=examples, slow=slow,
                    usage_override=usage_override,
                )
            )
            return handler

        return register

    def add_verb(self, verb: Verb[Any]) -> Verb[Any]:
        """Declare a verb built elsewhere (a verb shared by tests); prefer the decorator."""
        self.verbs.append(verb)
        return verb

    def button(
        self, prefix: str, *, permission: Permission = Permission.VIEW, tenant: TenantOf | None = None
    ) -> Callable[[F], F]:
        """Declare a button answered by the decorated function ``(inv, click) -> ClickResult``."""

        def register(handler: F) -> F:
            self.buttons.append(Button(prefix=prefix, handler=handler, permission=permission, tenant=tenant))
            return handler

        return register

    def change_kind(self, kind: ChangeKind) -> ChangeKind:
        """Declare a change kind (what an approved plan of that kind re-checks and executes)."""
        self.change_kinds.append(kind)
        return kind

    def job(self, job: Job) -> Callable[[F], F]:
        """Declare the function that does ``job`` when the scheduler runs it."""

        def register(func: F) -> F:
            if job in self.jobs:
                raise ValueError(f"{self.name}: job {job} declared twice")
            self.jobs[job] = func
            return func

        return register

    def hook(self, hook: Hook) -> Callable[[F], F]:
        """Declare a listener for ``hook``."""

        def register(func: F) -> F:
            self.hooks.setdefault(hook, []).append(func)
            return func

        return register


@dataclass
class Application:
    """Every capability the bot serves, merged: the one object the framework routes through."""

    capabilities: list[Capability] = field(default_factory=list)
    registry: Registry = field(default_factory=Registry)
    buttons: dict[str, Button] = field(default_factory=dict)
    change_kinds: dict[str, ChangeKind] = field(default_factory=dict)
    jobs: dict[Job, Callable[..., object]] = field(default_factory=dict)
    hooks: dict[Hook, list[Callable[..., None]]] = field(default_factory=dict)
    home: HomeView | None = None

    def include(self, capability: Capability) -> Capability:
        """Add a capability's declarations; a name declared twice (verb, button, kind, job) is an error."""
        for verb in capability.verbs:
            self.registry.add(verb)
        for button in capability.buttons:
            if button.prefix in self.buttons:
                raise ValueError(f"button {button.prefix} declared twice")
            self.buttons[button.prefix] = button
        for kind in capability.change_kinds:
            if kind.name in self.change_kinds:
                raise ValueError(f"change kind {kind.name} declared twice")
            self.change_kinds[kind.name] = kind
        for job, func in capability.jobs.items():
            if job in self.jobs:
                raise ValueError(f"job {job} declared twice")
            self.jobs[job] = func
        for hook, funcs in capability.hooks.items():
            self.hooks.setdefault(hook, []).extend(funcs)
        if capability.home_view is not None:
            if self.home is not None:
                raise ValueError("the App Home declared twice")
            self.home = capability.home_view
        self.capabilities.append(capability)
        return capability

    def button(self, action_id: str) -> Button | None:
        """The button answering ``action_id`` (``<prefix>`` or ``<prefix>:<anything>``)."""
        return self.buttons.get(action_id.split(":", 1)[0])

    def change_kind(self, name: str) -> ChangeKind | None:
        """The change kind called ``name``, if any capability declared it."""
        return self.change_kinds.get(name)

    def job(self, job: Job) -> Callable[..., object] | None:
        """The function doing ``job``, if any capability declared it."""
        return self.jobs.get(job)

    def listeners(self, hook: Hook) -> Iterator[Callable[..., None]]:
        """Every listener of ``hook``, in declaration order."""
        return iter(self.hooks.get(hook, ()))

    def fire(self, hook: Hook, runtime: object, *args: object) -> None:
        """Call every listener of ``hook`` with ``(runtime, *args)``; a listener's failure is logged, never raised."""
        for listener in self.listeners(hook):
            try:
                listener(runtime, *args)
            except Exception:  # noqa: BLE001 - a hook must never break the event that fired it
                log.warning("hook failed", extra={"hook": str(hook)})
