"""Which of a tenant's pods are in trouble (pure): the pod-crash diagnosis shows them, and their logs are read."""

from __future__ import annotations

from bot.clients.kube_models import PodInfo

MAX_LOG_PODS = 3  # logs of more pods than this would bury the rest of the report


def is_failing(pod: PodInfo) -> bool:
    """Not ready, waiting (crash loop, image pull, ...) or not running."""
    return (not pod.ready) or bool(pod.waiting_reason) or pod.phase not in ("Running", None)


def crashed_pods(pods: list[PodInfo]) -> list[PodInfo]:
    """Pods that are crashing, crashed recently or are not running; failing ones first, then by restarts."""
    found = [p for p in pods if is_failing(p) or p.restarts > 0 or p.last_termination_reason]
    return sorted(found, key=lambda p: (0 if is_failing(p) else 1, -p.restarts, p.name))


def log_targets(pods: list[PodInfo]) -> list[PodInfo]:
    """The pods whose last log lines a diagnosis shows (the worst few)."""
    return crashed_pods(pods)[:MAX_LOG_PODS]
