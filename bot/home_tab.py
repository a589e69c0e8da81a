"""The App Home tab: built by the capability that declares ``home`` and published with ``views.publish``.

Opening the tab (``app_home_opened``) publishes the user's view at most once
per ``min_interval_s`` (Slack sends the event on every visit; the view is
built from stored state, so a refresh within seconds would show the same).
Page buttons on the tab publish the page asked for at once. When the alert
check finds a tenant's state changed, the tabs of the users who opened theirs
on this replica and see that tenant are published again (same rate limit);
with several replicas, users whose Home was served by another see the change
when they next open it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.application import Application
from bot.delivery import Delivery
from bot.runtime import Runtime

HOME_MIN_INTERVAL_S = 30.0
PAGE_ACTION = "home:page"  # action id prefix of the tab's paging buttons (the value is the page number)
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
        """Publish again the tabs showing any of ``tenants`` (users seen on this replica); returns how many."""
        if not tenants:
            return 0
        with self._lock:
            viewers = list(self._last)
        published = 0
        for user in viewers:
            shown = {t.name for t in self.runtime.access.home_tenants(user, list(self.runtime.config.tenants))}
            if shown & tenants and self.publish(user):
                published += 1
        return published

    def opened(self, user: str) -> None:
        """``app_home_opened``: publish unless this user's tab was published moments ago."""
        self.publish(user)

    def turn_page(self, user: str, page: int) -> None:
        """A page button on the tab."""
        self.publish(user, page, asked=True)
