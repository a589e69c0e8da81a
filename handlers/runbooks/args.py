"""The parsed `/minio runbook` command: list, start a run, or resume one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class RunbookArgs(BaseModel):
    """`runbook`, `runbook <name> [tenant]`, `runbook resume [<run id> | <name>]`."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    tenant: str | None = None
    run_id: int | None = None
    resume: bool = False
    resume_of: str | None = None  # `resume <name>`: the newest open run of that runbook

    @model_validator(mode="before")
    @classmethod
    def _target(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        target = data.pop("target", None)
        if data.get("name") == "resume":
            data["resume"] = True
            if target is not None and str(target).isdigit():
                data["run_id"] = int(target)
            elif target is not None:
                data["resume_of"] = target
        elif target is not None:
            data["tenant"] = target
        return data
