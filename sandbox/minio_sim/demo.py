"""Demo data: a few realistic buckets whose sizes scale with the cluster's usable capacity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.minio_sim.iam import ServiceAccount

if TYPE_CHECKING:
    from sandbox.minio_sim.cluster import SimCluster

# bucket -> (share of usable capacity, average object size in bytes, object lock)
DEMO_BUCKETS: dict[str, tuple[float, int, bool]] = {
    "backups": (0.34, 64 << 20, True),
    "logs": (0.11, 96 << 10, False),
    "ml-datasets": (0.19, 8 << 20, False),
    "web-assets": (0.012, 180 << 10, False),
}
PROBE_OBJECTS = {"healthcheck/probe.txt": b"ok\n", "healthcheck/last-run.json": b'{"status": "ok"}\n'}
# A versioned bucket with real objects and history: what `/minio data demo versions|restore` works on.
DOCUMENTS = "documents"
DOCUMENT_VERSIONS = {
    "reports/2026-q3.pdf": (b"%PDF q3 draft\n", b"%PDF q3 final\n"),
    "reports/2026-q4.pdf": (b"%PDF q4 draft\n",),
    "contracts/acme.pdf": (b"%PDF acme v1\n", b"%PDF acme v2\n"),
}
LOGS_QUOTA = 50 << 40
# The demo tenant's backup location: a mirror of `documents` (current versions) under backups/mirror/.
BACKUP_BUCKET, BACKUP_PREFIX = "backups", "mirror/"
# An admin-grade user with an automation key: what the security diagnostic offers Disable / Revoke buttons for.
DEMO_ADMIN, DEMO_ADMIN_KEY, DEMO_ADMIN_KEY_EXPIRY = "ops-admin", "svc-ops-automation", "2027-06-30T00:00:00Z"


def load_demo_data(cluster: SimCluster) -> None:
    """Create backups, logs (with a quota), ml-datasets, web-assets (public), probe and documents
(versioned, with a few objects and their history, mirrored under backups/mirror/ as the tenant's backup),
with synthetic usage; and an admin-grade IAM user
(``ops-admin``, consoleAdmin) with one expiring access key."""
    model = cluster.model
    usable = sum(model.pool_raw_capacity(p.index) * (p.set_size - p.parity) // p.set_size for p in model.pools)
    usage: dict[str, tuple[int, int]] = {}
    for name, (share, avg_object, locked) in DEMO_BUCKETS.items():
        model.create_bucket(name, object_lock=locked)
        size = int(usable * share)
        usage[name] = (size, max(1, size // avg_object))
    cluster.set_usage(usage)
    model.create_bucket("probe")
    for key, data in PROBE_OBJECTS.items():
        model.put_object("probe", key, data, "text/plain", {})
    cluster.set_bucket_public("web-assets")
    model.create_bucket(DOCUMENTS)
    with model.lock:
        model.buckets[DOCUMENTS].versioning = "Enabled"
        model.buckets["logs"].quota = LOGS_QUOTA
        model.iam.add_user(DEMO_ADMIN, f"sim-{DEMO_ADMIN}-secret", policy="consoleAdmin")
        model.iam.add_service_account(DEMO_ADMIN_KEY, ServiceAccount(
            DEMO_ADMIN, f"sim-{DEMO_ADMIN_KEY}-secret", name="automation", expiration=DEMO_ADMIN_KEY_EXPIRY))
    for key, contents in DOCUMENT_VERSIONS.items():
        for data in contents:
            model.put_object(DOCUMENTS, key, data, "application/pdf", {})
        # What a nightly mirror of the tenant wrote: the current version of each document.
        model.put_object(BACKUP_BUCKET, f"{BACKUP_PREFIX}{DOCUMENTS}/{key}", contents[-1], "application/pdf", {})
