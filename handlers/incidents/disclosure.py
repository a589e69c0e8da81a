"""Where sensitive evidence may be posted: IAM users and their policies, pod log tails.

Only where the tenant's own channels could already see it: a channel configured
for the tenant, or a private incident channel (the framework shows its tenant
there only while everyone in it was let in by the bot). A public incident
channel can be read by anyone in the workspace, so there the sensitive sections
are left out, and the report says what was left out, why, and where to see it.
"""

from __future__ import annotations

from bot.config import TenantConfig
from bot.report import Text, code, join, mention, spans
from bot.runtime import Runtime
from bot.store import Incident
from handlers.incidents.model import Diagnosis, IncidentType, Sensitive, Withheld

PUBLIC_CHANNEL = "this incident channel is public: anyone in the workspace can read it"


def public_incident(runtime: Runtime, channel: str) -> Incident | None:
    """The open incident owning `channel` when that channel is public (None for any other channel)."""
    if runtime.config.channel(channel) is not None:
        return None
    incident = runtime.store.incidents.open_in_channel(channel)
    return incident if incident is not None and not incident.is_private else None


def split(diagnosis: Diagnosis) -> tuple[Diagnosis, Diagnosis]:
    """(the diagnosis without its sensitive sections, a diagnosis of only those sections)."""
    keep = [s for s in diagnosis.sections if s.title not in diagnosis.sensitive]
    held = [s for s in diagnosis.sections if s.title in diagnosis.sensitive]
    sensitive = {s.title: diagnosis.sensitive[s.title] for s in held}
    return Diagnosis(keep, diagnosis.next_actions), Diagnosis(held, [], sensitive)


def split_all(
    diagnoses: dict[IncidentType, Diagnosis],
) -> tuple[dict[IncidentType, Diagnosis], dict[IncidentType, Diagnosis]]:
    """`split` for each diagnosis; the second dict holds only the kinds that had something sensitive."""
    parts = {kind: split(d) for kind, d in diagnoses.items()}
    return {k: p[0] for k, p in parts.items()}, {k: p[1] for k, p in parts.items() if p[1].sections}


def kinds(diagnoses: list[Diagnosis]) -> tuple[Sensitive, ...]:
    """The kinds of sensitive evidence in these diagnoses, in `Sensitive` order."""
    found = {kind for d in diagnoses for kind in d.sensitive.values()}
    return tuple(k for k in Sensitive if k in found)


def tenant_channels(tenant: TenantConfig) -> Text:
    """Where the tenant's own evidence may be seen: its configured channels."""
    if not tenant.channels:
        return "no channel is configured for this tenant"
    return join([spans(mention(c)) for c in tenant.channels], " or ")


def withheld_here(tenant: TenantConfig, kind: IncidentType, held: Diagnosis) -> Withheld:
    """Why a diagnosis run in a public incident channel leaves sections out, and where to run it instead."""
    where = spans(code(f"/minio incident {kind.value} {tenant.name}"), " in ", tenant_channels(tenant))
    return Withheld(kinds=kinds([held]), why=PUBLIC_CHANNEL, where=where)
