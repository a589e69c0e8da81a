"""Incident channel names: `inc-<yyyymmdd>-<tenant>-<slug>`, within Slack's rules for channel names."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

MAX_CHANNEL_NAME = 80  # the longest channel name Slack accepts
MAX_SUFFIX = 20  # `-2` ... `-20` when a name is taken; beyond that something else is wrong


def slugify(text: str, limit: int) -> str:
    """Lower-case ASCII words joined by `-`, at most `limit` characters, never ending in `-`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def channel_name(when: datetime, tenant: str, title: str) -> str:
    """`inc-<yyyymmdd>-<tenant>-<slug>`, leaving room for a `-NN` suffix within 80 characters."""
    base = f"inc-{when:%Y%m%d}-{tenant}"
    room = MAX_CHANNEL_NAME - len(base) - 1 - len(f"-{MAX_SUFFIX}")
    slug = slugify(title, room) if room > 0 else ""
    return f"{base}-{slug or 'incident'}"[: MAX_CHANNEL_NAME - len(f"-{MAX_SUFFIX}")].rstrip("-")


def candidates(base: str) -> list[str]:
    """``base``, then ``base-2`` ... ``base-20``: the names to try, in order."""
    return [base, *(f"{base}-{n}" for n in range(2, MAX_SUFFIX + 1))]
