"""`memberkiosk devices`: what hardware this kiosk sees and how each configured device is doing, for the installer."""
from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path
from typing import Any

from core.errors import KioskError
from drivers.base import DriverUnavailable
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.services.device_probe import probe
from kiosk.store.documents import replace_table

DEVICES_TABLE = "devices"  # one document: {name: {"type": ..., options...}}


def configured_devices(docs: Any) -> dict[str, dict[str, Any]]:
    """The device configuration from the kiosk's "devices" document ({} when none is set)."""
    rows = docs.table(DEVICES_TABLE).all()
    return {name: dict(cfg) for name, cfg in rows[0].items()} if rows else {}


def seen() -> dict[str, list[str]]:
    """Hardware present now, whatever the configuration says."""
    return {"card readers": _pcsc_readers(), "input devices": _input_devices(),
            "serial ports": _serial_ports(), "usb printers": sorted(glob.glob("/dev/usb/lp*"))}


def _pcsc_readers() -> list[str]:
    try:
        from drivers.card.pcsc import PcscCardReader
        return PcscCardReader(lambda e: None).readers()
    except DriverUnavailable as exc:
        return [f"(none: {exc})"]


def _input_devices() -> list[str]:
    try:
        import evdev
    except ImportError:
        return ["(evdev not installed)"]
    found = []
    for path in evdev.list_devices():
        try:
            with evdev.InputDevice(path) as dev:
                found.append(f"{path}: {dev.name}")
        except OSError as exc:
            found.append(f"{path}: (cannot open: {exc.strerror})")
    return found


def _serial_ports() -> list[str]:
    try:
        from serial.tools.list_ports import comports
    except ImportError:
        return ["(pyserial not installed)"]
    return [f"{p.device}: {p.description}" for p in comports()]


def _devices(args: argparse.Namespace) -> int:
    if args.config is not None:
        try:
            configs = json.loads(args.config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KioskError(f"cannot read device configuration {args.config}: {exc}") from None
    else:
        with open_kiosk(args) as kiosk:
            configs = configured_devices(kiosk.docs)
    health = probe(configs)
    hardware = seen()
    payload = {"configured": {n: {"config": configs[n], "state": h.state, "reason": h.reason} for n, h in health.items()},
               "seen": hardware}
    lines = ["configured devices:" if health else "no devices configured (the kiosk runs with simulators)"]
    lines += [f"  {name:<10} {h.state:<9} {configs[name].get('type', '?'):<7} {h.reason}" for name, h in health.items()]
    for what, items in hardware.items():
        lines.append(f"{what}:")
        lines += [f"  {item}" for item in items] or ["  (none)"]
    all_ok = all(h.state == "ok" for h in health.values())
    if args.save:
        _save(args, configs, all_ok)
        lines.append("saved as this kiosk's device configuration")
    emit(args, payload, "\n".join(lines))
    return 0 if all_ok else 1


def _save(args: argparse.Namespace, configs: dict[str, Any], all_ok: bool) -> None:
    """Keep a configuration only once its devices answered, unless the technician insists (device not yet plugged)."""
    if args.config is None:
        raise KioskError("--save needs --config FILE: the configuration to try and keep")
    if not all_ok and not args.force:
        raise KioskError("not saved: a device is not ok (see above); fix it, or add --force to save anyway")
    with open_kiosk(args) as kiosk:
        replace_table(kiosk.docs, DEVICES_TABLE, [configs])


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `devices`."""
    p = add_command(subparsers, "devices", _devices,
                    "list card readers, scanners and printers seen, and each configured device's health")
    p.add_argument("--config", type=Path, help="try this JSON device configuration instead of the saved one")
    p.add_argument("--save", action="store_true", help="with --config: keep it as this kiosk's configuration")
    p.add_argument("--force", action="store_true", help="with --save: keep it even if a device is not ok")
