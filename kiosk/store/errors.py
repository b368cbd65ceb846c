"""Store failures, each telling the operator what to do next; only StoreDamaged ever advises a restore."""
from core.errors import KioskError


class StoreDamaged(KioskError):
    """A data file fails its checks; it is never repaired silently."""


class StoreBusy(KioskError):
    """Another process holds the ledger's write lock or the data directory: wait and retry; nothing is damaged."""


class StoreFull(KioskError):
    """The disk is full: nothing was written, the last commit stands."""


class StoreNearlyFull(StoreFull):
    """Free space is below store.min_free_mb: money-moving commits pause before the disk could fill mid-commit."""


class StorePermission(KioskError):
    """The files exist but this user may not open them (a command run as root, or as the wrong user)."""
