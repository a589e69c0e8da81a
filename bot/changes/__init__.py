"""Change plans and the machinery every destructive change shares.

- :mod:`bot.changes.plan`: the plan model (:class:`ChangePlan`, :class:`Finding`,
  :class:`Change`, :class:`Outcome`, :func:`seal`) and the :class:`ChangeKind`
  interface (with :func:`outcome_by_recheck`, the default ``resume``); re-exported here
  (``from bot.changes import ChangePlan, seal``).
- :mod:`bot.changes.tenant`: the Tenant as a change sees it: its fingerprint,
  "unchanged since the preview", the server-side dry run and the guarded write.
- :mod:`bot.changes.preflight`: "is the tenant calm enough to change now?" findings.
- :mod:`bot.changes.follow`: following a change after it was made (rollouts,
  resizes, decommissions) with bounded progress lines.

The approval engine (:mod:`bot.approval_engine`) stores, shows, re-checks and runs
plans; capabilities build them and declare their kinds.
"""

from bot.changes.plan import (
    Change,
    ChangeKind,
    ChangePlan,
    DryRun,
    Finding,
    Outcome,
    Risk,
    Target,
    cluster_subject,
    outcome_by_recheck,
    seal,
    subject_cluster,
)

__all__ = [
    "Change",
    "ChangeKind",
    "ChangePlan",
    "DryRun",
    "Finding",
    "Outcome",
    "Risk",
    "Target",
    "cluster_subject",
    "outcome_by_recheck",
    "seal",
    "subject_cluster",
]
