"""The Home tab as a Report: one line per tenant (worst first), paged, with what needs the user."""

from __future__ import annotations

from bot.report import Action, Report, Row, Section, Status, Text, bold, code, spans, worst
from handlers.home.evaluate import days_to, pct_used, trend
from handlers.home.facts import HomeFacts, TenantState

PAGE_SIZE = 40  # tenants per page: one line each keeps a page far below the Home's 100 blocks
PAGE_ACTION = "home:page"  # bot.slack.home_tab routes these buttons back to the Home
RUN_ACTION = "home:run"  # bot.slack.home_tab answers these with the command's report in a modal
ARROWS = {"up": "↗", "down": "↘", "flat": "→"}  # plain characters: the same in Slack and in a terminal
VERDICTS = {"HEALTHY": Status.HEALTHY, "DEGRADED": Status.DEGRADED, "UNHEALTHY": Status.UNHEALTHY}
NOBODY = ("You see no tenants here. The Home tab lists the tenants you operate or approve, and those of "
          "channels where you are a responder (admins see all). Ask an admin to add you.")


def verdict(state: TenantState) -> Status:
    """The stored health verdict (UNKNOWN before the first check)."""
    return VERDICTS.get(state.health or "", Status.UNKNOWN)


def capacity_text(state: TenantState) -> Text:
    """``62 % ↗, 80 % in 12 days`` from the stored snapshots, or that there are none yet."""
    if not state.series:
        return "capacity not measured yet"
    pct = pct_used(state.series[-1])
    if pct is None:
        return "capacity unknown"
    direction = trend(state.series)
    text = spans(f"{pct:.0f} % used" + (f" {ARROWS[direction]}" if direction else ""))
    days = days_to(state.series)
    if pct >= 80:
        return spans(text, ", past 80 %")
    if days is not None:
        return spans(text, f", 80 % in {days:.0f} days" if days >= 1 else ", 80 % within a day")
    return text


def tenant_row(state: TenantState) -> Row:
    """One tenant: verdict, capacity with its trend and days to 80 %, open incidents, decisions waiting."""
    status = verdict(state)
    parts: list[Text] = [spans(bold(state.name), " ", status.value if state.health else "not checked yet"),
                         capacity_text(state)]
    if state.incidents:
        parts.append(f"{state.incidents} open incident{'s' if state.incidents != 1 else ''}")
    if state.to_decide:
        parts.append(spans(bold(f"{state.to_decide} approval{'s' if state.to_decide != 1 else ''} for you")))
    text: list[Text] = []
    for index, part in enumerate(parts):
        text += [" · ", part] if index else [part]
    return Row(status=status, text=spans(*text))


def home_report(facts: HomeFacts, page: int = 1) -> Report:
    """The tab: a summary, this page's tenants, page buttons, where the figures come from."""
    if not facts.tenants:
        return Report(title="MinIO tenants", summary=NOBODY)
    ordered = sorted(facts.tenants, key=lambda s: (-verdict(s).severity, s.name))
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = ordered[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    counts: dict[str, int] = {}
    for state in ordered:
        label = state.health.lower() if state.health else "not checked"
        counts[label] = counts.get(label, 0) + 1
    waiting = sum(s.to_decide for s in ordered)
    summary = f"{len(ordered)} tenants: " + ", ".join(f"{n} {label}" for label, n in counts.items())
    if waiting:
        summary += f"; {waiting} approval{'s' if waiting != 1 else ''} waiting for you"
    title = f"Page {page} of {pages}" if pages > 1 else "Tenants"
    # One button per tenant on the page: its full health report (live), in a modal.
    reports = [Action(label=s.name, action_id=f"{RUN_ACTION}:{i}", value=f"/minio health {s.name}")
               for i, s in enumerate(shown)]
    section = Section(title=title, rows=[tenant_row(s) for s in shown], actions=reports, error=(
        spans("The state store is unreachable: ", facts.store_error) if facts.store_error else None))
    actions = []
    if page > 1:
        actions.append(Action(label="Previous page", action_id=f"{PAGE_ACTION}:{page - 1}", value=str(page - 1)))
    if page < pages:
        actions.append(Action(label="Next page", action_id=f"{PAGE_ACTION}:{page + 1}", value=str(page + 1)))
    return Report(
        title="MinIO tenants",
        status=worst([verdict(s) for s in ordered]),
        summary=summary,
        sections=[section],
        actions=actions,
        footer=[spans("From stored state: health from the last alert check, capacity from the hourly snapshots. ",
                      "A tenant's button opens its full health report (", code("/minio health <tenant>"), ").")],
    )
