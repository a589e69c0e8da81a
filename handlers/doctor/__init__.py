"""`/minio doctor` (admins) and `minio-chatops doctor`: is this installation complete, and what to fix.

It checks end to end, without changing anything: the Slack bot token and its
scopes against the scopes the code needs, that the app is in each configured
channel and each configured user group resolves; for each cluster, every
Kubernetes call the bot makes (asked of the API server as the bot, with
SelfSubjectAccessReviews); for each tenant, that MinIO answers, the
credentials work and the user's policy allows each admin and S3 action the
bot uses; that the store answers and is migrated; that leader election has a
live holder. One line per check with what to fix; the summary line and the
exit code (0 all fine, 1 something to look at, 2 something to fix) are for
scripts and the Helm chart's test hook.
"""

from __future__ import annotations

from bot.application import Capability
from bot.commands import NoArgs, Permission
from bot.invocation import Invocation
from bot.report import Report
from handlers.doctor.facts import gather
from handlers.doctor.present import doctor_report

capability = Capability("doctor", __doc__)


@capability.verb(
    "doctor",
    summary="Check this installation end to end (Slack, Kubernetes RBAC, MinIO policy, store, election).",
    model=NoArgs,
    permission=Permission.ADMIN,
    slow=True,
)
def doctor_command(inv: Invocation, _args: NoArgs) -> Report:
    """Every check, one line each with what to fix."""
    return doctor_report(gather(inv.runtime))
