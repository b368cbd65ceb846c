"""Start configured devices briefly and ask their health: what `memberkiosk devices` and `doctor` report."""
from __future__ import annotations

import threading
from typing import Any, Mapping

from core.errors import KioskError
from drivers.base import DeviceConfigError, DriverUnavailable
from drivers.events import DeviceHealth
from drivers.factory import build_all

SETTLE_S = 3.0  # how long a started device may take to find its hardware


def probe(configs: Mapping[str, Mapping[str, Any]], settle_s: float = SETTLE_S) -> dict[str, DeviceHealth]:
    """Start each configured device, give it `settle_s` to find its hardware, and report its health."""
    result: dict[str, DeviceHealth] = {}
    changed = threading.Event()
    try:
        devices = build_all(configs, lambda event: changed.set())
    except (DeviceConfigError, DriverUnavailable) as exc:
        raise KioskError(f"device configuration: {exc}") from None
    for name, device in devices.items():
        if hasattr(device, "check"):  # printers are asked directly (DLE EOT)
            result[name] = device.check()
            continue
        changed.clear()
        device.start()
        try:
            changed.wait(settle_s)
            result[name] = device.health()
        finally:
            device.stop()
    return result
