"""Alert-driven incidents: Alertmanager's alerts arrive with MinIO-aware evidence and a one-click incident.

Point an Alertmanager webhook receiver at the bot's ``/alertmanager`` (bearer
token ``ALERTMANAGER_WEBHOOK_TOKEN``). For each alert group the bot finds the
tenant by the alerts' labels, runs the diagnostics that fit (node or drive
offline: health with quorum and "can lose N more"; capacity: usage and
forecast; latency: performance; auth failures: security) and posts ONE message
to the tenant's alert channel: what fired, what the bot found, its verdict, and
buttons to declare an incident (the tenant's responders, operators and
approvers, as for the incident command; evidence pinned, the alert first in
the timeline), run the diagnostics again, or silence the group in Alertmanager
(operators of the tenant; audited; can be expired early from the same message).
When the group resolves, that same message says so, and open incidents of the
tenant note it in their timeline. Alerts that name no known tenant go once to
the fallback channel with the reason. The bot's own health and capacity alerts
and Alertmanager's never tell a channel the same problem twice.
"""

from __future__ import annotations

from bot.application import Capability, Hook
from bot.commands import Permission
from handlers.alertmanager.buttons import on_declare, on_expire, on_rerun, on_silence, tenant_of_click
from handlers.alertmanager.notifications import on_notification
from handlers.alertmanager.present import DECLARE, EXPIRE, RERUN, SILENCE

capability = Capability("alertmanager", __doc__)
capability.hook(Hook.ALERT_NOTIFICATION)(on_notification)
capability.button(DECLARE, permission=Permission.RESPOND, tenant=tenant_of_click)(on_declare)
capability.button(RERUN, permission=Permission.VIEW, tenant=tenant_of_click)(on_rerun)
capability.button(SILENCE, permission=Permission.REQUEST, tenant=tenant_of_click)(on_silence)
capability.button(EXPIRE, permission=Permission.REQUEST, tenant=tenant_of_click)(on_expire)
