"""Sizes, durations and times as people read them: the one place that formats them.

Renderers call these for typed spans (``Size``, ``Duration``, ``When``), and
handlers may call them where a plain string is needed (a chart label).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(value: float) -> str:
    """Binary units with three significant digits: ``512 GiB``, ``3.40 TiB``, ``1.25 PiB``."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in _BINARY_UNITS:
        if value < 1024 or unit == _BINARY_UNITS[-1]:
            if unit == "B":
                return f"{sign}{int(value)} B"
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            return f"{sign}{value:.{digits}f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def signed_size(value: float) -> str:
    """``+1.20 TiB`` / ``-512 GiB`` / ``±0 B`` (growth)."""
    if value == 0:
        return "±0 B"
    return ("+" if value > 0 else "") + size(value)


def duration(seconds: float | timedelta) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``2.1 d`` (sub-second: ``250 ms``)."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    seconds = max(0.0, seconds)
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def clock_duration(seconds: float | timedelta) -> str:
    """Elapsed time with two units, for timelines: ``7 min``, ``1 h 05 min``, ``2 d 3 h``."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def date(when: datetime) -> str:
    """A calendar date in UTC (``2026-12-06``): forecasts are never precise to the hour."""
    return _utc(when).strftime("%Y-%m-%d")


def moment(when: datetime) -> str:
    """A point in time in UTC, to the minute: ``2026-12-06 09:00 UTC``."""
    return _utc(when).strftime("%Y-%m-%d %H:%M UTC")


def stamp(when: datetime) -> str:
    """A point in time in UTC, to the second, for records (the audit trail): ``2026-12-06 09:00:05``."""
    return _utc(when).strftime("%Y-%m-%d %H:%M:%S")


def time_of_day(when: datetime) -> str:
    """The UTC time of day to the second, for step-by-step progress: ``09:00:05``."""
    return _utc(when).strftime("%H:%M:%S")


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
