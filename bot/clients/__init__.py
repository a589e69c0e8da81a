"""Every line of the bot that speaks to MinIO or Kubernetes.

Clients return pydantic models and raise :class:`ClientError` subclasses;
they know nothing of Slack, reports or approvals.
"""

from bot.clients.errors import ClientError, ClientErrorInfo, KubeError, MinioError, NotSupported, scrub
from bot.clients.fanout import fan_out
from bot.clients.kube import KubeClient
from bot.clients.minio import MinioClient
from bot.clients.timeouts import Timeouts, make_pool_manager

__all__ = [
    "ClientError",
    "ClientErrorInfo",
    "KubeClient",
    "KubeError",
    "MinioClient",
    "MinioError",
    "NotSupported",
    "Timeouts",
    "fan_out",
    "make_pool_manager",
    "scrub",
]
