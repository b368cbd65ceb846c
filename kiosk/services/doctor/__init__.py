"""`memberkiosk doctor`: everything a technician would look at, each check saying what it found and what to fix.

Each check is a small function returning Findings; `run` runs them in the order a technician would work through
them. Nothing here repairs or writes: a doctor run changes no file.
"""
from __future__ import annotations

from pathlib import Path

from kiosk.services.doctor import broker, settings, store, system
from kiosk.services.doctor.finding import EXIT, Finding, worst

__all__ = ["EXIT", "Finding", "run", "worst"]


def run(data_dir: Path) -> list[Finding]:
    """Every check on the kiosk whose data lives in `data_dir`."""
    cfg, findings = settings.check_config(data_dir)
    findings += system.check_permissions(data_dir, cfg["kiosk.key_dir"])  # before the store: opening it fixes modes
    findings += store.check_store(data_dir, cfg["kiosk.key_dir"])
    findings += settings.check_devices(cfg["devices"])
    findings += broker.check_broker(cfg["sync.broker"], cfg["sync.ca_file"])
    findings += system.check_clock()
    findings += system.check_disk(data_dir, cfg["store.min_free_mb"] * 1024 * 1024)
    findings += settings.check_pricing()
    return findings
