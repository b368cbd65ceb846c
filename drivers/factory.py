"""Devices built from configuration: {"type": "pcsc" | "evdev" | "serial" | "escpos" | "sim", ...options}.

The device configuration is a dict per device (the kiosk keeps it in its "devices" document), so a laptop
runs the demo with every type "sim" and a kiosk names its real hardware, with no code change. Hardware
libraries are imported only for the types configured.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Mapping

from drivers.base import DeviceConfigError, DriverUnavailable
from drivers.events import OnEvent

KINDS = ("card", "scanner", "printer")
# (kind, type) -> "module:Class"
DRIVERS: dict[tuple[str, str], str] = {
    ("card", "pcsc"): "drivers.card.pcsc:PcscCardReader",
    ("card", "sim"): "drivers.card.sim:SimCardReader",
    ("scanner", "evdev"): "drivers.scanner.wedge:WedgeScanner",
    ("scanner", "serial"): "drivers.scanner.serial_scanner:SerialScanner",
    ("scanner", "sim"): "drivers.scanner.sim:SimScanner",
    ("printer", "escpos"): "drivers.printer.escpos_printer:EscposPrinter",
    ("printer", "sim"): "drivers.printer.sim:SimPrinter",
}
DEMO_DEVICES: dict[str, dict[str, Any]] = {kind: {"type": "sim"} for kind in KINDS}


def build(kind: str, config: Mapping[str, Any], on_event: OnEvent, **hooks: Any) -> Any:
    """One device from its config; `hooks` (beep=...) go to the drivers that accept them.

    Raises DeviceConfigError for a wrong config and DriverUnavailable when the library is missing."""
    typ = config.get("type")
    target = DRIVERS.get((kind, str(typ)))
    if target is None:
        types = sorted(t for k, t in DRIVERS if k == kind)
        raise DeviceConfigError(f"{kind} type '{typ}' is unknown; use one of {', '.join(types)}")
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    usable = getattr(module, "usable", None)
    if usable is not None:
        ok, why = usable(config["transport"]) if kind == "printer" and "transport" in config else usable()
        if not ok:
            raise DriverUnavailable(f"{kind} '{typ}': {why}")
    cls = getattr(module, class_name)
    params = {k: v for k, v in config.items() if k not in ("type", "kind")}
    accepted = inspect.signature(cls).parameters
    open_ended = any(p.kind is p.VAR_KEYWORD for p in accepted.values())  # transport options pass through
    unknown = sorted(set(params) - set(accepted))
    if unknown and not open_ended:
        allowed = sorted(set(accepted) - {"on_event", "params"})
        raise DeviceConfigError(f"{kind} '{typ}' has unknown option(s) {', '.join(unknown)}; "
                                f"known: {', '.join(allowed)}")
    params.update({k: v for k, v in hooks.items() if k in accepted})
    try:
        return cls(on_event, **params)
    except TypeError as exc:
        raise DeviceConfigError(f"{kind} '{typ}' config is incomplete: {exc}") from None


def build_all(devices: Mapping[str, Mapping[str, Any]], on_event: OnEvent, **hooks: Any) -> dict[str, Any]:
    """Every device of a devices document, by name; an entry's kind is its "kind" key or its name."""
    built = {}
    for name, config in devices.items():
        kind = str(config.get("kind", name))
        if kind not in KINDS:
            raise DeviceConfigError(f"device '{name}': kind '{kind}' must be one of {', '.join(KINDS)}")
        built[name] = build(kind, {"name": name, **config}, on_event, **hooks)
    return built
