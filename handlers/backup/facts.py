"""What `/minio backup <tenant> verify` asks: the newest objects under the backup location, each read back.

The listing looks at no more than ``MAX_KEYS`` objects; then the sampled objects are read back in one
fan-out (at most ``MAX_IN_FLIGHT_PER_ENDPOINT`` at once) under the verification deadline. The backup
location may be another endpoint (``backup.endpoint``): its client is built like the health check's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.minio_models import NewestObjects, ReadBack
from bot.clients.timeouts import MAX_IN_FLIGHT_PER_ENDPOINT
from bot.config import BackupTarget, TenantConfig
from bot.runtime import Runtime
from handlers.health.facts import backup_tenant

MAX_KEYS = 10_000
READ_DEADLINE_S = 60.0
"""Reading backups back moves real bytes: a longer deadline than a report's."""


@dataclass(frozen=True)
class VerifyFacts:
    """The backup target, its newest objects, and what reading each back gave."""

    target: BackupTarget
    listing: NewestObjects
    reads: dict[str, ReadBack | ClientError]


def verify_facts(runtime: Runtime, tenant: TenantConfig, target: BackupTarget, sample: int) -> VerifyFacts:
    """List the newest ``sample`` objects under the target, then read each back."""
    client = runtime.minio(tenant if target.endpoint is None else backup_tenant(tenant, target))
    listing = client.newest_objects(target.bucket, target.prefix, sample, max_keys=MAX_KEYS)
    calls: dict[str, Callable[[], Any]] = {o.key: partial(client.read_back, target.bucket, o.key)
                                           for o in listing.objects}
    reads = fan_out(calls, deadline_s=READ_DEADLINE_S, max_workers=MAX_IN_FLIGHT_PER_ENDPOINT)
    return VerifyFacts(target=target, listing=listing, reads=reads)
