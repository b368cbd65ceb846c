"""The kiosk's one clock: now in milliseconds, and the shop's local date and time in its time zone.

Everything that needs the time is handed this object; nothing else reads the wall clock or converts a ledger
timestamp to local time, so tests move time with a fake source and a shop's time zone is set in one place.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput

DAY_MS = 86_400_000


def wall_ms() -> int:
    """Milliseconds since the Unix epoch from the system clock: the only wall-clock read of the app."""
    return time.time_ns() // 1_000_000


def zone(name: str | None) -> dt.tzinfo | None:
    """The time zone called `name` (e.g. Asia/Shanghai); None means the system's own local zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"time zone '{name}' is unknown; use a name like Asia/Shanghai") from None


class Clock:
    """`now_ms`, local date and time, and day boundaries, all from one source and one time zone."""

    def __init__(self, source: Callable[[], int] = wall_ms, tz: dt.tzinfo | None = None) -> None:
        self.source, self.tz = source, tz

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch, UTC."""
        return self.source()

    def local(self, ms: int | None = None) -> dt.datetime:
        """The shop's local wall time (naive) at `ms`, or now: member days, birthdays and receipts use it."""
        ms = self.now_ms() if ms is None else ms
        if self.tz is None:
            return dt.datetime.fromtimestamp(ms / 1000)
        return dt.datetime.fromtimestamp(ms / 1000, self.tz).replace(tzinfo=None)

    def today(self) -> dt.date:
        """The shop's local date now."""
        return self.local().date()

    def day_bounds(self, day: dt.date) -> tuple[int, int]:
        """[start, end) of a local day in milliseconds (23 or 25 hours long on a daylight-saving change)."""
        return self._ms_at(day), self._ms_at(day + dt.timedelta(days=1))

    def _ms_at(self, day: dt.date) -> int:
        midnight = dt.datetime.combine(day, dt.time())
        aware = midnight.astimezone() if self.tz is None else midnight.replace(tzinfo=self.tz)
        return int(aware.timestamp() * 1000)

