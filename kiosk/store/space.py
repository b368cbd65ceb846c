"""Free space under the ledger: money stops moving before a full disk could cut a commit short, and starts again
by itself once there is room.

SQLite rolls a transaction back cleanly on a full disk, but a checkpoint, the witness and the documents have less
margin, and a cashier mid-sale deserves a message they can act on rather than a failure at payment. Measured with
statvfs (microseconds), at most once per RECHECK_S while there is room and at every money commit while there is not.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from kiosk.store.errors import StoreNearlyFull

RECHECK_S = 0.5  # a burst of sales in this long cannot use a floor's worth of space


class FreeSpace:
    """The floor under the data directory's filesystem: `check()` before a money-moving commit."""

    def __init__(self, directory: Path, floor_bytes: int, recheck_s: float = RECHECK_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.directory, self.floor_bytes, self._recheck_s, self._monotonic = directory, floor_bytes, recheck_s, monotonic
        self._room_until = float("-inf")  # monotonic time until which the last measure stands

    def free_bytes(self) -> int:
        """What an unprivileged writer may still use on the data directory's filesystem."""
        st = os.statvfs(self.directory)
        return st.f_bavail * st.f_frsize

    def check(self) -> None:
        """Raise StoreNearlyFull while free space is below the floor; nothing else (an unreadable filesystem is the
        commit's to report)."""
        now = self._monotonic()
        if self.floor_bytes <= 0 or now < self._room_until:
            return
        try:
            free = self.free_bytes()
        except OSError:
            return
        if free >= self.floor_bytes:
            self._room_until = now + self._recheck_s
            return
        raise StoreNearlyFull(
            f"Storage almost full: sales are paused so that the ledger cannot be damaged ({free / 2**20:.0f} MiB free, "
            f"{self.floor_bytes / 2**20:.0f} MiB needed). Ask staff to free space on the data partition (move old "
            "backups and exports off it); sales resume by themselves once there is room")
