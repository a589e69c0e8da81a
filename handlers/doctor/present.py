"""The doctor's report: one line per check that needs fixing (with what to do), one per area that is fine.

Sections: Slack, Kubernetes (per cluster), MinIO (per tenant), store, leader
election. Row status: HEALTHY ok, DEGRADED worth a look, UNHEALTHY must be
fixed. The summary counts them for scripts.
"""

from __future__ import annotations

from bot.clients.errors import ClientError
from bot.clients.slack_scopes import REQUIRED_SCOPES
from bot.report import Report, Row, Section, Status, Text, code, duration, join, mention, spans, worst
from handlers.doctor.evaluate import (
    Access,
    lease_age_s,
    missing_scopes,
    pending_migrations,
    policy_allows,
    required_actions,
    unused_scopes,
)
from handlers.doctor.facts import DoctorFacts, LeaseState, Schema

OK, WARN, FIX = Status.HEALTHY, Status.DEGRADED, Status.UNHEALTHY
CHART_FIX = "grant it: the Helm chart renders exactly these rules from this config (helm upgrade)"
MANIFEST = "deploy/slack-app-manifest.yaml"
POLICY_FILE = "deploy/minio/bot-policy.json"


def doctor_report(facts: DoctorFacts) -> Report:
    """Every check as a Report; its status is the worst row's."""
    sections = [slack_section(facts), *kube_sections(facts), *minio_sections(facts), store_section(facts.store),
                lease_section(facts)]
    rows = [row for section in sections for row in section.rows]
    status = worst([r.status for r in rows if r.status is not None])
    return Report(title="minio-chatops doctor", status=status, summary=summary_line(rows), sections=sections)


def summary_line(rows: list[Row]) -> str:
    """``doctor: 12 checks, 10 ok, 1 to look at, 1 to fix`` (for scripts; the exit code says the same)."""
    counts = {s: sum(1 for r in rows if r.status == s) for s in (OK, WARN, FIX)}
    return f"doctor: {len(rows)} checks, {counts[OK]} ok, {counts[WARN]} to look at, {counts[FIX]} to fix"


def _count(n: int, noun: str) -> str:
    """``the 1 configured channel`` / ``all 3 configured channels``."""
    return f"the 1 {noun}" if n == 1 else f"all {n} {noun}s"


def _section(title: str, rows: list[Row]) -> Section:
    return Section(title=title, status=worst([r.status for r in rows if r.status is not None]), rows=rows)


# ---------------------------------------------------------------- Slack


def slack_section(facts: DoctorFacts) -> Section:
    """Token, scopes, channels, user groups."""
    identity = facts.slack
    if identity is None:
        return _section("Slack", [Row(status=FIX, text=spans(
            "no bot token: set ", code("SLACK_BOT_TOKEN"), " to the app's Bot User OAuth Token (xoxb-...)"))])
    if isinstance(identity, ClientError):
        return _section("Slack", [Row(status=FIX, text=spans(
            "the bot token does not work (", identity.detail, "): install the app to the workspace and set ",
            code("SLACK_BOT_TOKEN"), " to its Bot User OAuth Token"))])
    rows = [Row(status=OK, text=spans("bot token valid: ", mention(identity.bot_user), " in ", code(identity.team)))]
    rows += scope_rows(identity.scopes)
    rows += channel_rows(facts)
    rows += group_rows(facts)
    return _section("Slack", rows)


def scope_rows(granted: frozenset[str] | None) -> list[Row]:
    """One row per missing scope; one when all are there."""
    if granted is None:
        return [Row(status=WARN, text="Slack did not report the token's scopes; they could not be checked")]
    missing = missing_scopes(granted)
    rows = [
        Row(status=FIX, text=spans(
            "scope ", code(scope), " missing (", REQUIRED_SCOPES[scope], "): add it under OAuth & Permissions ",
            "(or re-create the app from ", code(MANIFEST), ") and reinstall"))
        for scope in missing
    ]
    if not missing:
        rows.append(Row(status=OK, text=f"all {len(REQUIRED_SCOPES)} scopes the bot needs are granted"))
    extra = unused_scopes(granted)
    if extra:
        rows.append(Row(status=Status.INFO, text=spans(
            "scopes the bot never uses: ", join([spans(code(s)) for s in extra]),
            " (remove them for least privilege)")))
    return rows


def channel_rows(facts: DoctorFacts) -> list[Row]:
    """The app must be in each configured channel to post there."""
    rows: list[Row] = []
    for channel, answer in facts.channels.items():
        if isinstance(answer, ClientError):
            if answer.kind == "not_found":
                rows.append(Row(status=FIX, text=spans(
                    "channel ", code(channel), " not found, or private without the app: check the id in the config ",
                    "or invite the app there (", code("/invite @minio-chatops"), ")")))
            else:
                rows.append(Row(status=FIX, text=spans("channel ", code(channel), ": ", answer.detail)))
        elif answer.archived:
            rows.append(Row(status=WARN, text=spans("channel ", mention(channel), " is archived: use another one")))
        elif not answer.member:
            rows.append(Row(status=FIX, text=spans(
                "the app is not in ", mention(channel), ": ", code("/invite @minio-chatops"), " there")))
    if facts.channels and not rows:
        rows.append(Row(status=OK, text=f"the app is in {_count(len(facts.channels), 'configured channel')}"))
    return rows


def group_rows(facts: DoctorFacts) -> list[Row]:
    """Each configured user group must resolve (and have members)."""
    rows: list[Row] = []
    for group, answer in facts.groups.items():
        if isinstance(answer, ClientError):
            if answer.kind == "unavailable":
                rows.append(Row(status=WARN, text=spans(
                    "user group ", code(group), " cannot be resolved (", answer.detail,
                    "): user groups need a paid plan; list people instead")))
            else:
                rows.append(Row(status=FIX, text=spans(
                    "user group ", code(group), " does not resolve (", answer.detail, "): fix its id in the config")))
        elif answer == 0:
            rows.append(Row(status=WARN, text=spans("user group ", mention(group), " has no members: nobody in it ",
                                                    "can request or approve")))
    if facts.groups and not rows:
        rows.append(Row(status=OK, text=f"{_count(len(facts.groups), 'configured user group')} resolved"))
    return rows


# ---------------------------------------------------------------- Kubernetes


def access_text(access: Access) -> Text:
    """``patch tenants.minio.min.io analytics in minio-analytics``."""
    named = (" ", code(access.name)) if access.name else ()
    where = (" in ", code(access.namespace)) if access.namespace else (" (cluster-wide)",)
    return spans(code(access.verb), " ", code(access.resource_label), *named, *where)


def kube_sections(facts: DoctorFacts) -> list[Section]:
    """Per cluster: each call the bot makes that its identity may not make, or that all are allowed."""
    sections = []
    for cluster, answers in facts.access.items():
        rows: list[Row] = []
        errors = {str(a) for a in answers.values() if isinstance(a, ClientError)}
        for error in sorted(errors):
            rows.append(Row(status=FIX, text=f"could not ask the API server what the bot may do: {error}"))
        denied = [access for access, allowed in answers.items() if allowed is False]
        for access in denied:
            rows.append(Row(status=FIX, text=spans("cannot ", access_text(access), ": ", CHART_FIX)))
        if not rows:
            rows.append(Row(status=OK, text=f"all {len(answers)} Kubernetes calls the bot makes are allowed"))
        sections.append(_section(f"Kubernetes {cluster}", rows))
    return sections


# ---------------------------------------------------------------- MinIO


def minio_sections(facts: DoctorFacts) -> list[Section]:
    """Per tenant: reachable, credentials valid, and each action of the bot's policy allowed."""
    sections = []
    for tenant in facts.tenants:
        answer = facts.minio[tenant.name]
        rows: list[Row] = []
        if isinstance(answer, ClientError):
            rows.append(Row(status=FIX, text=minio_failure(answer)))
        else:
            rows.append(Row(status=OK, text=spans("reachable, credentials valid (user ", code(answer.account_name),
                                                  ")")))
            rows += policy_rows(required_actions(tenant), answer.policy)
        sections.append(_section(f"MinIO {tenant.name}", rows))
    return sections


def minio_failure(error: ClientError) -> Text:
    """What a failed ``accountinfo`` means, and what to do."""
    if error.kind in ("unreachable", "timeout"):
        return spans("MinIO unreachable (", str(error), "): check the endpoints, the NetworkPolicy and DNS")
    if error.kind == "auth":
        return spans("MinIO rejected the credentials (", error.detail, "): fix the keys in the tenant's credentials")
    if error.kind == "no_credentials":
        return spans("no credentials (", error.detail, "): set the tenant's ", code("credentials"))
    return spans("MinIO account check failed: ", str(error))


def policy_rows(actions: list[tuple[str, str]], policy: dict[str, object] | None) -> list[Row]:
    """One row per action the user's policy does not allow; one when all are allowed."""
    if policy is None:
        return [Row(status=WARN, text="MinIO did not report the user's policy; its actions could not be checked")]
    rows = []
    for action, resource in actions:
        if not policy_allows(policy, action, resource):
            on = spans(" on ", code(resource)) if resource else ()
            rows.append(Row(status=FIX, text=spans("the bot's MinIO user may not ", code(action), *on,
                                                   ": add it to its policy (", code(POLICY_FILE), ")")))
    if not rows:
        rows.append(Row(status=OK, text=f"all {len(actions)} MinIO actions the bot uses are allowed"))
    return rows


# ---------------------------------------------------------------- store and election


def store_section(store: Schema | ClientError | None) -> Section:
    """Reachable, and migrated as far as this code knows."""
    if store is None or isinstance(store, ClientError):
        return _section("Store", [Row(status=FIX, text=spans(
            "store unreachable (", str(store), "): check ", code("MINIO_CHATOPS_STORE_URL"), " or store_url"))])
    pending = pending_migrations(store.applied, store.known)
    if not store.applied:
        row = Row(status=WARN, text=f"{store.backend} reachable but empty: the bot creates its tables when it starts")
    elif pending:
        row = Row(status=WARN, text=f"{store.backend} reachable, migrations {pending} pending: the bot applies them "
                                    "when it starts")
    elif max(store.applied) > max(store.known):
        row = Row(status=WARN, text=f"{store.backend} is at version {max(store.applied)}, newer than this code "
                                    f"({max(store.known)}): a newer bot migrated it")
    else:
        row = Row(status=OK, text=f"{store.backend} reachable, schema at version {max(store.known)} (current)")
    return _section("Store", [row])


def lease_section(facts: DoctorFacts) -> Section:
    """The Lease exists and a replica renews it in time."""
    lease = facts.lease
    if lease is None:
        return _section("Leader election", [Row(status=OK, text="off: one replica, which is always the leader")])
    if isinstance(lease, ClientError):
        return _section("Leader election", [Row(status=FIX, text=spans("cannot read the Lease: ", str(lease)))])
    return _section("Leader election", [lease_row(lease, facts)])


def lease_row(lease: LeaseState, facts: DoctorFacts) -> Row:
    """One line about the Lease's holder and freshness."""
    where = spans(code(f"{lease.namespace}/{lease.name}"))
    record = lease.record
    if record is None:
        return Row(status=FIX, text=spans("no Lease ", *where, " yet: no replica has started (is the bot running?)"))
    age = lease_age_s(record.renew_time, facts.now)
    if not record.holder or age is None:
        return Row(status=FIX, text=spans("Lease ", *where, " has no holder: no replica leads (is the bot running?)"))
    if age > 2 * lease.lease_seconds:
        return Row(status=FIX, text=spans("Lease ", *where, " held by ", code(record.holder), " but last renewed ",
                                          duration(age), " ago: its holder stopped renewing (is it running?)"))
    return Row(status=OK, text=spans("Lease ", *where, " held by ", code(record.holder), ", renewed ", duration(age),
                                     " ago"))
