"""Shared pytest wiring: each stand-in (Kubernetes, MinIO, Slack) owns a fixture module."""

pytest_plugins = [
    "tests.fixtures.kube",
    "tests.fixtures.minio",
    "tests.fixtures.slack",
    "tests.fixtures.postgres",
    "tests.fixtures.bot",
    "tests.fixtures.alertmanager",
    "tests.fixtures.prometheus",
]
