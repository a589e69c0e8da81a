"""The App Home tab: built by the capability that declares ``home`` and published with ``views.publish``.

Opening the tab (``app_home_opened``) publishes the user's view at most once
per ``min_interval_s`` (Slack sends the event on every visit; the view is
built from stored state, so a refresh within seconds would show the same).
Page buttons on the tab publish the page asked for at once. A tenant's button
(``home:run``, its value a ``/minio`` command about that tenant) opens a modal
at once and fills it with the command's report, run as in a channel that sees
the tenant, for a user the Home shows that tenant to. When the alert
check finds a tenant's state changed, the tabs of the users who opened theirs
(on any replica: each open is recorded in the shared store) and see that
tenant are published again (same rate limit, per replica).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.application import Application
from bot.commands import Command
from bot.dispatch import Dispatcher
from bot.render import render_modal
from bot.report import Report
from bot.runtime import Runtime
from bot.slack.delivery import Delivery
from bot.store.errors import StoreError

HOME_MIN_INTERVAL_S = 30.0
PAGE_ACTION = "home:page"  # action id prefix of the tab's paging buttons (the value is the page number)
RUN_ACTION = "home:run"  # a button whose value is a /minio command about one tenant, answered in a modal
log = logging.getLogger("minio_chatops.home")


class HomeTab:
    """Publishes users' Home tabs, rate-limited per user."""

    def __init__(
        self, runtime: Runtime, application: Application, delivery: Delivery,
        min_interval_s: float = HOME_MIN_INTERVAL_S, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.application = application
        self.delivery = delivery
        self.dispatcher = Dispatcher(runtime, application)
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def publish(self, user: str, page: int = 1, *, asked: bool = False) -> bool:
        """Publish ``user``'s tab; False when rate-limited (``asked``: a page button, never limited)."""
        build = self.application.home
        if build is None:
            return False
        now = self._clock()
        with self._lock:
            last = self._last.get(user)
            if not asked and last is not None and now - last < self.min_interval_s:
                return False
            self._last[user] = now
        try:
            self.delivery.publish_home(user, build(self.runtime, user, page))
        except Exception as exc:  # noqa: BLE001 - a Home that cannot be shown must not take the worker down
            log.warning("home tab not published", extra={"error_type": type(exc).__name__})
            return False
        return True

    def tenants_changed(self, tenants: set[str]) -> int:
        """Publish again the tabs showing any of ``tenants`` (users who opened theirs on any replica); returns
        how many."""
        if not tenants:
            return 0
        with self._lock:
            viewers = set(self._last)
        try:
            viewers |= set(self.runtime.store.home_viewers.recent())
        except StoreError as exc:  # the users this replica served are still refreshed
            log.warning("home viewers not read", extra={"error_type": type(exc).__name__})
        published = 0
        for user in sorted(viewers):
            shown = {t.name for t in self.runtime.access.home_tenants(user, list(self.runtime.config.tenants))}
            if shown & tenants and self.publish(user):
                published += 1
        return published

    def opened(self, user: str) -> None:
        """``app_home_opened``: record the viewer, and publish unless this user's tab was published moments ago."""
        try:
            self.runtime.store.home_viewers.saw(user)
        except StoreError as exc:  # the tab is still shown; only other replicas will not refresh it
            log.warning("home viewer not recorded", extra={"error_type": type(exc).__name__})
        self.publish(user)

    def turn_page(self, user: str, page: int) -> None:
        """A page button on the tab."""
        self.publish(user, page, asked=True)

    def run_report(self, user: str, command: str, trigger_id: str) -> None:
        """A tenant's button: a modal now ("working on it"), the command's report in it when done."""
        try:
            opened = self.delivery.call("views.open", trigger_id=trigger_id, view=render_modal(
                Report(title="minio-chatops", summary=f"Working on {command[:200]}…")))
        except Exception as exc:  # noqa: BLE001 - the trigger expired or Slack said no: nothing to fill
            log.warning("home modal not opened", extra={"error_type": type(exc).__name__})
            return
        report = self._report(user, command)
        view_id = str((opened.get("view") or {}).get("id") or "")
        try:
            self.delivery.call("views.update", view_id=view_id, view=render_modal(report))
        except Exception as exc:  # noqa: BLE001 - the user closed the modal meanwhile
            log.warning("home modal not updated", extra={"error_type": type(exc).__name__})

    def _report(self, user: str, command: str) -> Report:
        parsed = self.dispatcher.parse(command)
        if not isinstance(parsed, Command) or parsed.tenant is None:
            return Report(title="minio-chatops", summary="This button no longer works; open the Home tab again.")
        tenant = next((t for t in self.runtime.access.home_tenants(user, list(self.runtime.config.tenants))
                       if t.name == parsed.tenant), None)
        if tenant is None or not tenant.channels:
            return Report(title="minio-chatops", summary="That tenant is not on your Home tab.")
        # As in a channel that sees the tenant: the verb's own access rules apply there.
        return self.dispatcher.run(user, tenant.channels[0], parsed)
