"""Doctor checks of what the kiosk is told: its configuration, its devices and the pricing engine it runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from tinydb import TinyDB

import native
from core.errors import KioskError
from kiosk import config
from kiosk.services.device_probe import probe
from kiosk.services.doctor.finding import Finding
from kiosk.store.documents import DOCS_FILE, AtomicJSONStorage

SHOW = "`memberkiosk config show` lists every key and the layer it came from"
DEVICE_STATUS = {"ok": "ok", "degraded": "warn", "gone": "fault"}


def check_config(data_dir: Path) -> tuple[config.Config, list[Finding]]:
    """The configuration with the operator's documents layered on; the files and environment alone when those fail."""
    flags = {"kiosk.data_dir": data_dir}
    base = config.load(flags=flags)  # the command line loaded this much already, or stopped with its error
    path = data_dir / DOCS_FILE
    if not path.exists():
        return base, [Finding("config", "ok", f"configuration loads ({_layers(base)})")]
    try:
        cfg = config.load(flags=flags, docs=TinyDB(path, storage=AtomicJSONStorage))  # reads, never writes
    except config.ConfigError as exc:
        return base, [Finding("config", "fault", str(exc), f"correct that key where it is set; {SHOW}")]
    except KioskError as exc:  # the documents file itself is damaged; the store check says so too
        return base, [Finding("config", "fault", f"the operator's documents cannot be read: {exc}",
                              "restore the last backup, or have head office push the documents again")]
    return cfg, [Finding("config", "ok", f"configuration loads ({_layers(cfg)})")]


def _layers(cfg: config.Config) -> str:
    layers = sorted({setting.layer for _, setting in cfg} - {config.DEFAULT})
    return "set by " + ", ".join(layers) if layers else "defaults only"


def check_devices(devices: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Each configured device opened and asked its health; none configured means the simulators, which is fine."""
    if not devices:
        return [Finding("devices", "ok", "no devices configured: the kiosk runs with simulators")]
    return [_check_device(name, dict(cfg)) for name, cfg in devices.items()]


def _check_device(name: str, cfg: dict[str, Any]) -> Finding:
    check = f"device {name}"
    fix = (f"check that the {name} is plugged in and powered and that its settings {cfg} are right; "
           "`memberkiosk devices` lists the hardware this kiosk sees, and `memberkiosk devices --config FILE --save` "
           "changes the configuration")
    try:
        health = probe({name: cfg})[name]
    except KioskError as exc:
        return Finding(check, "fault", f"cannot be opened: {exc}", fix)
    kind = "simulated" if cfg.get("type") == "sim" else str(cfg.get("type"))
    status = DEVICE_STATUS[health.state]
    return Finding(check, status, f"{kind}: {health.state}" + (f" ({health.reason})" if health.reason else ""),
                   "" if status == "ok" else fix)


def check_pricing() -> list[Finding]:
    """Which engine prices baskets; the reference is slower, and a warning unless it was chosen on purpose."""
    report = {"pricing_engine": native.ENGINE, "native_available": native.AVAILABLE, "reason": native.REASON}
    chosen = native.REASON == "MEMBERKIOSK_SKIP_NATIVE=1"
    ok = native.AVAILABLE or chosen
    return [Finding("pricing", "ok" if ok else "warn", f"pricing engine: {native.describe()}",
                    "" if ok else "build the Cython kernels with `pip install -e .` (needs Cython and a C compiler)",
                    report)]
