"""Alertmanager's shapes: the webhook notification (payload version 4) and the API v2 silence.

Field names follow Alertmanager's own JSON (``groupKey``, ``startsAt``, ...);
the models give them Python names through aliases. Unknown fields are kept out
(``extra="ignore"``): a newer Alertmanager that adds fields still parses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WEBHOOK_VERSION = "4"

AlertStatus = Literal["firing", "resolved"]


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class WebhookAlert(_Shape):
    """One alert of a notification."""

    status: AlertStatus
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")  # year 1 while firing without an end
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    @property
    def name(self) -> str:
        """The alert's ``alertname`` label ("" when it has none)."""
        return self.labels.get("alertname", "")


class WebhookPayload(_Shape):
    """What Alertmanager POSTs to a webhook receiver: one alert group at one moment."""

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", min_length=1, max_length=20_000)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: AlertStatus
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[WebhookAlert] = Field(min_length=1)

    @property
    def firing(self) -> list[WebhookAlert]:
        """The alerts still firing."""
        return [a for a in self.alerts if a.status == "firing"]


class Matcher(_Shape):
    """One label matcher of a silence (API v2 ``matcher``)."""

    name: str
    value: str
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")


class Silence(_Shape):
    """A silence as Alertmanager's API v2 returns it (``gettableSilence``)."""

    id: str
    state: str  # active | pending | expired
    matchers: list[Matcher] = Field(default_factory=list)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(default="", alias="createdBy")
    comment: str = ""
