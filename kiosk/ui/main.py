"""Start the kiosk UI on a data directory: Kivy is configured here, before anything imports it."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from kiosk.ui import boot

log = logging.getLogger(__name__)

DEMO_COUPON = "WELCOME10"  # ¥10 off from ¥50, in the demo rulebook
DEMO_NEW_CARD = ("新卡 New card", "04AB12CD")


def run(kiosk: Any, *, fullscreen: bool = True, devices: Mapping[str, Mapping[str, Any]] | None = None,
        receipt_dir: Path | None = None, use_devices: Callable[[Any], Callable[[], None]] | None = None,
        **settings: Any) -> None:
    """Start the device runtime, open the kiosk window and run until a manager closes it; then stop the devices.
    `use_devices(runtime)` (the fleet agent's) lends the runtime out while the UI runs; it returns the detach."""
    boot.configure(kiosk.data_dir / "kivy", fullscreen=fullscreen)
    logging.getLogger("kiosk.ui.metrics").setLevel(logging.INFO)  # start, tap and scan latencies in the log
    from kiosk.runtime import DeviceRuntime
    from kiosk.ui.app import KioskApp, UiSettings
    from kiosk.ui.watchdog import supervise

    with DeviceRuntime.start(kiosk, devices or {}, receipt_dir) as runtime:
        detach = use_devices(runtime) if use_devices is not None else None
        try:
            app = KioskApp(kiosk, runtime, UiSettings(**settings))
            supervise(app)  # under systemd: ready at the first frame, watchdog pings from the main loop
            app.run()
        finally:
            if detach is not None:
                detach()


def enrol(enrol_with: Callable[[str], Any], data_dir: Path, *, fullscreen: bool = True,
          devices: Mapping[str, Mapping[str, Any]] | None = None, store_name: str = "memberkiosk") -> Any:
    """Show the enrol screen of a kiosk with no identity until a scanned token enrols it; what `enrol_with`
    returned then, or None when the app was stopped first (SIGTERM)."""
    boot.configure(data_dir / "kivy", fullscreen=fullscreen)
    from kiosk.ui.enrol_app import EnrolApp, scanner_config
    from kiosk.ui.watchdog import supervise

    app = EnrolApp(enrol_with, scanner_config(devices or {}), store_name=store_name)
    supervise(app)
    app.run()
    return app.enrolled


def demo_settings(receipt_dir: Path | None = None, store_name: str = "鲜果超市 Fresh Mart") -> dict[str, Any]:
    """What `run` takes for the demo: simulated devices, where receipts are kept as PNGs, the demo panel's cards
    (members', staff's, one new) and the catalog's scannable products."""
    from core.barcodes import coupon_payload
    from core.catalog import parse_catalog
    from drivers.factory import DEMO_DEVICES
    from kiosk.demo.seed import DEMO_MEMBERS, DEMO_STAFF

    catalog = parse_catalog((Path(__file__).parents[1] / "demo" / "catalog.csv").read_text(encoding="utf-8"), "csv")
    cards = tuple((f"{name} 的卡", card) for _phone, name, _b, card, _pin, _sv in DEMO_MEMBERS) + (DEMO_NEW_CARD,)
    cards += tuple((f"{name} 员工卡", card) for _no, name, _role, _pin, card in DEMO_STAFF)
    products = tuple((p.name, p.barcode) for p in catalog.values() if p.barcode)[:5]
    products += (("代金券 ¥10", coupon_payload(DEMO_COUPON)),)
    return {"store_name": store_name, "demo": True, "demo_cards": cards, "demo_products": products,
            "devices": DEMO_DEVICES, "receipt_dir": receipt_dir}
