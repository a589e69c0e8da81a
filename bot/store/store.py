"""`Store`: the bot's state, one object with a repository per concern."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import text

from bot.store.alert_groups import AlertGroups
from bot.store.alerts import AlertStates
from bot.store.approval_requests import ApprovalRequests
from bot.store.audit import AuditLog
from bot.store.capacity import CapacityHistory
from bot.store.db import Database
from bot.store.home_viewers import HomeViewers
from bot.store.incidents import Incidents
from bot.store.job_runs import JobRuns
from bot.store.maintenance import MaintenanceWindows
from bot.store.migrations import MIGRATIONS, applied_versions, migrate
from bot.store.replays import ReplayKeys
from bot.store.report_deliveries import ReportDeliveries
from bot.store.runbooks import RunbookRuns
from bot.store.specs import SpecSnapshots


class Store:
    """The bot's state on SQLite (one process) or PostgreSQL (several replicas).

    Construction does not connect; the first call does, and failures surface as
    :class:`~bot.store.errors.StoreUnavailable`. Call :meth:`migrate` once at start-up.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self._db = Database(url, echo=echo)
        self.approvals = ApprovalRequests(self._db)
        self.audit = AuditLog(self._db)
        self.capacity = CapacityHistory(self._db)
        self.incidents = Incidents(self._db)
        self.runbooks = RunbookRuns(self._db)
        self.alerts = AlertStates(self._db)
        self.alert_groups = AlertGroups(self._db)
        self.specs = SpecSnapshots(self._db)
        self.maintenance = MaintenanceWindows(self._db)
        self.scheduler = JobRuns(self._db)
        self.deliveries = ReportDeliveries(self._db)
        self.replays = ReplayKeys(self._db)
        self.home_viewers = HomeViewers(self._db)

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self._db.backend

    def migrate(self) -> list[int]:
        """Create or upgrade the schema; returns the versions applied now (empty when up to date)."""
        return migrate(self._db)

    def schema_versions(self) -> tuple[list[int], list[int]]:
        """(versions recorded in the database, versions this code knows), without migrating anything."""
        return applied_versions(self._db), [m.version for m in MIGRATIONS]

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers (for readiness probes)."""
        with self._db.read() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Release every pooled connection; the Store must not be used afterwards."""
        self._db.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # The URL may carry a password; show where, never how to log in.
        return f"Store({self._db.where})"
