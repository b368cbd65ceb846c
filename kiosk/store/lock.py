"""The data directory lock: kiosks and commands share it, a restore needs it alone."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from kiosk.store.errors import StoreBusy

LOCK_FILE = ".lock"


def lock_data_dir(data_dir: Path, exclusive: bool) -> int:
    """Take the lock without waiting and return its descriptor (close it to release); StoreBusy if held."""
    data_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        if exclusive:
            raise StoreBusy(f"{data_dir} is in use; stop the kiosk service before restoring") from None
        raise StoreBusy(f"{data_dir} is being restored by another process; try again when it finishes") from None
    return fd
