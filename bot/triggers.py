"""Cron triggers and slot arithmetic shared by the configuration (validation) and the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCAN_LIMIT = 200_000  # fire times looked at when searching back; a per-minute cron over 48 h is 2,880

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron_day(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token[:3] in _CRON_DAYS:
        return _CRON_DAYS.index(token[:3])
    raise ValueError(f"bad day of week {token!r} (0-7 or sun-sat)")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) as APScheduler 3 reads it (0 = Monday, so names)."""
    if field == "*":
        return field
    days: set[int] = set()
    for token in field.lower().split(","):
        part, _, step = token.partition("/")
        if part == "*":
            first, last = 0, 6
        elif "-" in part:
            low, high = part.split("-", 1)
            first, last = _cron_day(low), _cron_day(high)
        else:
            first = last = _cron_day(part)
            if step:
                last = 6
        if first > last or (step and not step.isdigit()) or step == "0":
            raise ValueError(f"bad day of week {token!r}")
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def crontab_trigger(cron: str, zone: ZoneInfo | None = None) -> CronTrigger:
    """APScheduler's CronTrigger for a standard five-field crontab line (weekday numbers as cron means them).

    Raises ValueError naming what is wrong.
    """
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError("cron needs five fields: minute hour day month weekday")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_weekdays(weekday), timezone=zone
    )


class WallClockCron(BaseTrigger):
    """A five-field cron in a time zone that fires at most once per local wall-clock time."""

    def __init__(self, cron: str, timezone: str) -> None:
        self.cron = cron
        self.zone = ZoneInfo(timezone)
        self._cron = crontab_trigger(cron, self.zone)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # CronTrigger is asked without `previous_fire_time`: with it, around a DST fold it can
        # answer a time before `now`, which makes the scheduler loop on the same run.
        # All arithmetic in UTC: adding to a local time drops its `fold` and lands in the wrong hour.
        cursor = now.astimezone(UTC)
        if previous_fire_time is not None:
            cursor = max(cursor, previous_fire_time.astimezone(UTC) + timedelta(seconds=1))
        for _ in range(10_000):
            found: datetime | None = self._cron.get_next_fire_time(None, cursor)
            if found is None:
                return None
            candidate = found.astimezone(UTC)
            local = candidate.astimezone(self.zone)
            if local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset():
                # The repeated hour after the clocks went back: this wall time has fired already.
                cursor = candidate + timedelta(seconds=1)
                continue
            return candidate
        return None

    def __str__(self) -> str:
        return f"cron[{self.cron} {self.zone.key}]"

    def __repr__(self) -> str:
        return f"WallClockCron({self.cron!r}, {self.zone.key!r})"


def next_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The first fire time at or after `now`."""
    result: datetime | None = trigger.get_next_fire_time(None, now)
    return result


def latest_fire_time(trigger: BaseTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The last fire time in (`now` - `lookback`, `now`], or None: the slot a run at `now` stands for."""
    cursor = now - lookback
    previous: datetime | None = None
    latest: datetime | None = None
    for _ in range(_SCAN_LIMIT):
        fire: datetime | None = trigger.get_next_fire_time(previous, cursor)
        if fire is None or fire > now:
            break
        if fire > now - lookback:
            latest = fire
        previous, cursor = fire, fire
    return latest.astimezone(UTC) if latest is not None else None


def aligned_slot(now: datetime, every: timedelta) -> datetime:
    """`now` rounded down to a multiple of `every` since the epoch (the same on every replica)."""
    steps = (now - EPOCH) // every
    return EPOCH + steps * every
