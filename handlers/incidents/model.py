"""What the incident diagnostics work with: the incident types, the facts gathered, and a diagnosis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias, TypeVar

from bot.clients.errors import ClientError
from bot.clients.minio_models import RequestRejections
from bot.report import Section, Text

T = TypeVar("T")

# A gathered fact: its value, or the error that says why it is missing.
Fact: TypeAlias = T | ClientError


class IncidentType(StrEnum):
    """The incident types the old incident-response script knew, now backed by real checks."""

    POD_CRASH = "pod-crash"
    STORAGE_FULL = "storage-full"
    NETWORK_ISSUE = "network-issue"
    PERFORMANCE = "performance"
    SECURITY = "security"
    DATA_LOSS = "data-loss"


INCIDENT_TYPES: tuple[str, ...] = tuple(t.value for t in IncidentType)


@dataclass(frozen=True)
class Gathered:
    """Every fact gathered for one tenant, by name: its value or the ClientError saying why not.

    A fact that does not apply (a Kubernetes fact of a static tenant) is absent. Facts made of several
    calls (one per node, bucket, pod or Secret) are stored as ``<name>:<item>``.
    """

    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        """The fact called ``name``; None when it does not apply."""
        return self.values.get(name)

    def items(self, prefix: str) -> dict[str, Any]:
        """The ``<prefix>:<item>`` facts by item, in gathering order."""
        start = f"{prefix}:"
        return {key[len(start) :]: value for key, value in self.values.items() if key.startswith(start)}


class Sensitive(StrEnum):
    """Evidence posted only where the tenant's own channels could already see it (see `disclosure`)."""

    IAM = "IAM users and their policies"
    LOG_TAILS = "pod log tails"


@dataclass(frozen=True)
class RejectionSample:
    """MinIO's rejected-request counters at one moment (``time.monotonic()``): the start of a rate."""

    counters: RequestRejections
    at: float


@dataclass(frozen=True)
class AuthRejectionRate:
    """Requests refused because their Authorization is of a kind MinIO does not support, now.

    ``per_minute`` is None when the server exposes no such counter. ``window_s`` is the
    span the rate covers; ``source`` says where it comes from (two samples of MinIO's
    own counters, or a Prometheus ``rate()``).
    """

    per_minute: float | None
    window_s: float
    source: str
    from_samples: bool


@dataclass(frozen=True)
class Diagnosis:
    """What one diagnostic found: its sections and what to do next, most urgent first."""

    sections: list[Section]
    next_actions: list[Text]
    sensitive: Mapping[str, Sensitive] = field(default_factory=dict)  # section title -> what it holds


@dataclass(frozen=True)
class Withheld:
    """Sensitive evidence left out of a report: what, why, and where it can be seen instead."""

    kinds: tuple[Sensitive, ...]
    why: Text
    where: Text
