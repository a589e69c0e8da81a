"""What following an approved upgrade or rollback looks at, one poll at a time."""

from __future__ import annotations

from collections.abc import Callable

from bot.changes.follow import Observation, Phase, operator_rejection
from bot.changes.preflight import INITIALIZED
from bot.changes.tenant import TenantHandle
from bot.clients.errors import ClientError
from bot.clients.kube import KubeClient
from bot.clients.kube_models import DeploymentInfo, PodInfo
from bot.runtime import Runtime
from handlers.updates.evaluate import node_versions, version_summary
from handlers.updates.images import release_time, same_version

IMAGE_PULL_FAILURES = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName")


def rollout_observer(runtime: Runtime, handle: TenantHandle, tag: str, before: dict[str, str]
                     ) -> Callable[[], Observation]:
    """Done when the Tenant is ``Initialized`` and every node reports ``tag`` (or, for tags that are not MinIO
    release tags, one common version different from before); failed when the operator reports a failure."""
    comparable = release_time(tag) is not None

    def observe() -> Observation:
        info = handle.kube.get_tenant(handle.namespace, handle.name)
        rejected = operator_rejection(info)
        if rejected is not None:
            return rejected
        status = info.status
        state = (status.current_state if status else None) or "no status"
        try:
            versions = node_versions(runtime.minio(handle.config).server_info())
        except ClientError as exc:
            return Observation(Phase.RUNNING, f"Tenant {state}; MinIO not answering ({exc.kind}): servers restart")
        if comparable:
            on_target = [e for e, v in versions.items() if same_version(v, tag)]
        else:
            common = set(versions.values())
            changed = len(common) == 1 and common != set(before.values())
            on_target = list(versions) if changed else []
        line = f"Tenant {state}; {len(on_target)}/{len(versions)} node(s) on {tag}"
        if len(on_target) < len(versions):
            line += f" ({version_summary(versions)})"
        done = versions and len(on_target) == len(versions) and state == INITIALIZED
        return Observation(Phase.DONE if done else Phase.RUNNING, line)

    return observe


def operator_observer(kube: KubeClient, namespace: str, name: str, image: str, previous: str | None
                      ) -> Callable[[], Observation]:
    """Done when at least ``replicas`` pods run ``image`` and are Ready, and no pod of ``previous`` is left."""

    def observe() -> Observation:
        deployment: DeploymentInfo = kube.get_deployment(namespace, name)
        pods: list[PodInfo] = [p for p in kube.list_pods(namespace) if p.name.startswith(f"{name}-")
                               and not p.deleting]
        new = [p for p in pods if any(c.image == image for c in p.containers)]
        ready = [p for p in new if p.ready]
        old = [p for p in pods if previous and any(c.image == previous for c in p.containers)]
        waiting = sorted({p.waiting_reason for p in new if p.waiting_reason})
        line = f"{len(ready)}/{deployment.replicas} operator pod(s) Ready on the new image, {len(old)} old left"
        if waiting:
            line += f" (waiting: {', '.join(waiting)})"
        if any(w in IMAGE_PULL_FAILURES for w in waiting):
            return Observation(Phase.FAILED, line)
        done = deployment.image == image and len(ready) >= max(1, deployment.replicas) and not old
        return Observation(Phase.DONE if done else Phase.RUNNING, line)

    return observe
