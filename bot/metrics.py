"""The bot's own Prometheus metrics (served on /metrics in HTTP and Socket Mode)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class BotMetrics:
    """Counters and histograms for commands, Slack calls, approvals and the scheduler."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "minio_chatops_commands_total", "Commands run, by verb and outcome", ["verb", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "minio_chatops_command_seconds", "Command run time", ["verb"], registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.slack_errors = Counter(
            "minio_chatops_slack_errors_total", "Slack API errors, by method and error", ["method", "error"],
            registry=self.registry,
        )
        self.slack_ratelimited = Counter(
            "minio_chatops_slack_ratelimited_total", "Slack 429 answers", ["method"], registry=self.registry
        )
        self.queue_depth = Gauge(
            "minio_chatops_queue_depth", "Commands waiting for a worker", registry=self.registry
        )
        self.rejected = Counter(
            "minio_chatops_rejected_total", "Commands refused because the work queue was full",
            registry=self.registry,
        )

        self.executions = Gauge(
            "minio_chatops_executions", "Approved changes this replica holds (waiting for a thread or running)",
            registry=self.registry,
        )
        self.executions_resumed = Counter(
            "minio_chatops_executions_resumed_total",
            "Executions a stopped process left behind, taken over (resumed) by this replica",
            registry=self.registry,
        )

        self.leader = Gauge(
            "minio_chatops_leader", "1 while this replica holds the leader Lease (runs the scheduler)",
            registry=self.registry,
        )
        self.leader_changes = Counter(
            "minio_chatops_leader_changes_total", "Leadership gained or lost by this replica", ["event"],
            registry=self.registry,
        )
        self.scheduler_runs = Counter(
            "minio_chatops_scheduler_runs_total",
            "Scheduled job runs, by job and outcome (sent, skipped, not_due, deferred, failed)",
            ["job", "outcome"], registry=self.registry,
        )
        self.reports_undelivered = Counter(
            "minio_chatops_reports_undelivered_total",
            "Scheduled reports given up on: not delivered while they were still worth sending", ["channel"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "minio_chatops_alerts_total", "Alert transitions, by kind and event (alert, recovery, muted)",
            ["kind", "event"], registry=self.registry,
        )

    def command_done(self, verb: str, outcome: str, seconds: float) -> None:
        self.commands.labels(verb, outcome).inc()
        self.command_seconds.labels(verb).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
