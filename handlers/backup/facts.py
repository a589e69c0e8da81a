"""What `/minio backup <tenant> verify` asks: the newest objects under the backup location, each read back,
and each one's source on the tenant.

The listing looks at no more than ``MAX_KEYS`` objects; then, in one fan-out (at most
``MAX_IN_FLIGHT_PER_ENDPOINT`` at once per endpoint) under the verification deadline, the sampled objects
are read back and their sources (``handlers.backup.layout``) looked up with a HEAD. Only a source whose
checksum cannot be compared by ETag (a multipart upload on either side) is then read back, in a second
fan-out under what is left of the deadline. The backup location may be another endpoint
(``backup.endpoint``): its client is built like the health check's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.clients import MinioClient
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.minio_models import ListedObject, NewestObjects, ReadBack
from bot.clients.timeouts import MAX_IN_FLIGHT_PER_ENDPOINT
from bot.config import BackupTarget, TenantConfig
from bot.runtime import Runtime
from handlers.backup.evaluate import needs_source_read
from handlers.backup.layout import source_of
from handlers.health.facts import backup_tenant

MAX_KEYS = 10_000
READ_DEADLINE_S = 60.0
"""Reading backups back moves real bytes: a longer deadline than a report's."""


@dataclass(frozen=True)
class VerifyFacts:
    """The backup target, its newest objects, what reading each back gave, and each one's source."""

    target: BackupTarget
    listing: NewestObjects
    reads: dict[str, ReadBack | ClientError]
    # backup key -> the source's HEAD (None: no such source; absent: not in the mirror layout)
    sources: dict[str, ListedObject | ClientError | None] = field(default_factory=dict)
    source_reads: dict[str, ReadBack | ClientError] = field(default_factory=dict)


def backup_client(runtime: Runtime, tenant: TenantConfig, target: BackupTarget) -> MinioClient:
    """The client of the backup location: the tenant itself, or ``backup.endpoint``."""
    return runtime.minio(tenant if target.endpoint is None else backup_tenant(tenant, target))


def verify_facts(runtime: Runtime, tenant: TenantConfig, target: BackupTarget, sample: int) -> VerifyFacts:
    """List the newest ``sample`` objects under the target, read each back and look up its source."""
    started = time.monotonic()
    client = backup_client(runtime, tenant, target)
    listing = client.newest_objects(target.bucket, target.prefix, sample, max_keys=MAX_KEYS)
    source = runtime.minio(tenant)
    calls: dict[str, Callable[[], Any]] = {f"read:{o.key}": partial(client.read_back, target.bucket, o.key)
                                           for o in listing.objects}
    origin = {o.key: source_of(target, o.key) for o in listing.objects}
    for key, where in origin.items():
        if where is not None:
            calls[f"source:{key}"] = partial(source.stat_object, *where)
    results = fan_out(calls, deadline_s=READ_DEADLINE_S, max_workers=MAX_IN_FLIGHT_PER_ENDPOINT)
    reads = {o.key: results[f"read:{o.key}"] for o in listing.objects}
    sources = {key: results[f"source:{key}"] for key, where in origin.items() if where is not None}
    second: dict[str, Callable[[], Any]] = {}
    for listed in listing.objects:
        where = origin[listed.key]
        if where is not None and needs_source_read(listed, sources[listed.key]):
            second[listed.key] = partial(source.read_back, *where)
    left = max(1.0, READ_DEADLINE_S - (time.monotonic() - started))
    source_reads = fan_out(second, deadline_s=left, max_workers=MAX_IN_FLIGHT_PER_ENDPOINT) if second else {}
    return VerifyFacts(target=target, listing=listing, reads=reads,
                       sources=sources, source_reads=source_reads)
