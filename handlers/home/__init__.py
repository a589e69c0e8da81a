"""The Slack App Home tab: every tenant you may see, at a glance, from stored state.

For the user opening it: each tenant's health verdict (from the last alert
check), capacity used with its 24-hour trend and the days until 80 % (from the
hourly snapshots), open incidents, and the approvals waiting for them to
decide; worst first, 40 to a page, and a button per tenant that opens its
full health report (run live, on request) in a modal. Nothing is asked of
MinIO or Kubernetes on open: a Home is opened often and must come at once. Which tenants: all for
admins; else those the user operates or approves, and those of channels where
they are a responder.
"""

from __future__ import annotations

from bot.application import Capability
from bot.report import Report
from bot.runtime import Runtime
from handlers.home.facts import gather
from handlers.home.present import home_report

capability = Capability("home", __doc__)


@capability.home
def home_view(runtime: Runtime, user: str, page: int = 1) -> Report:
    """``user``'s Home tab, page ``page``."""
    return home_report(gather(runtime, user), page)
