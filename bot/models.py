"""The one base for immutable pydantic models (reports, plans, facts)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """An immutable, hashable-by-value model."""

    model_config = ConfigDict(frozen=True)
