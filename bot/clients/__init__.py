"""Every line of the bot that speaks to MinIO, Kubernetes, Prometheus or Alertmanager, and the
doctor's questions to Slack's Web API (``slack``).

Clients return pydantic models and raise :class:`ClientError` subclasses; they know nothing of
reports or approvals, and none but ``slack`` knows of Slack.
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
