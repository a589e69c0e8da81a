"""Section builders every diagnostic uses: a check that could not run, a static tenant, recent warning events."""

from __future__ import annotations

from bot.clients.errors import ClientError
from bot.clients.kube_models import EventInfo
from bot.redact import redact
from bot.report import Row, Section, Status, Text, bold, code, spans, when, worst
from handlers.incidents.model import Fact

MAX_EVENTS = 10


def failed_section(title: str, error: ClientError) -> Section:
    """A section that could not be checked, saying why."""
    return Section(title=title, status=Status.UNKNOWN, error=spans(str(error)))


def not_on_kubernetes(title: str) -> Section:
    """The section for a Kubernetes fact of a tenant that has only static endpoints."""
    return Section(title=title, status=Status.INFO, lines=["Static tenant: there is no Kubernetes Tenant to inspect."])


def untrusted(value: str | None, limit: int = 200) -> str:
    """Text from outside (event messages, reasons, log lines) without secrets, cut to ``limit`` characters."""
    text = redact(value or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ms(value: float | None) -> str:
    """A latency in milliseconds, or n/a."""
    return "n/a" if value is None else f"{value:.0f} ms"


def rows_status(rows: list[Row], default: Status) -> Status:
    """The worst verdict of ``rows`` (``default`` when none has one)."""
    return worst([r.status for r in rows if r.status], default)


def numbered(items: list[Text]) -> list[Text]:
    """``1. first``, ``2. second``, ..."""
    return [spans(f"{i}. ", item if isinstance(item, tuple) else (item,)) for i, item in enumerate(items, start=1)]


def _event_line(event: EventInfo) -> Text:
    count = f" (x{event.count})" if event.count > 1 else ""
    seen = spans(when(event.last_seen), " ") if event.last_seen else ""
    return spans(
        seen, code(untrusted(event.object, 80)), " ", bold(untrusted(event.reason, 60)),
        ": ", untrusted(event.message), count,
    )


def events_section(events: Fact[list[EventInfo]] | None, tenant: str) -> Section:
    """Recent Warning events about the tenant's own objects (pods, StatefulSets, PVCs, the Tenant)."""
    title = "Recent warning events (1 h)"
    if events is None:
        return not_on_kubernetes(title)
    if isinstance(events, ClientError):
        return failed_section(title, events)
    mine = [e for e in events if e.object.split("/", 1)[-1].startswith(tenant) or e.object == f"Tenant/{tenant}"]
    if not mine:
        return Section(title=title, status=Status.HEALTHY, lines=["No warning events about this tenant."])
    return Section(title=title, status=Status.DEGRADED, lines=[_event_line(e) for e in mine[:MAX_EVENTS]])
