"""Store failures, each telling the operator what to do next."""
from core.errors import KioskError


class StoreDamaged(KioskError):
    """A data file fails its checks; it is never repaired silently."""


class StoreBusy(KioskError):
    """Another process holds the data directory exclusively (a restore, or a running kiosk during restore)."""


class StoreFull(KioskError):
    """The disk is full: nothing was written, the last commit stands."""
