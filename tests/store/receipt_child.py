"""A kiosk process for the receipt crash test; the parent SIGKILLs it.

`python -m tests.store.receipt_child DATA_DIR PORT sell`: the device runtime with a network printer on PORT,
one cash sale, then "sold NUMBER SALE_ID" and wait. `... sell-only`: the sale without the runtime (the process
dies before its followers ran). `... resume`: the runtime, "ready", and wait.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

from kiosk.app import Kiosk
from kiosk.runtime import DeviceRuntime
from tests.store.shop import number, sell


def main(data_dir: Path, port: int, mode: str) -> None:
    """Run one mode until killed."""
    printer = {"printer": {"type": "escpos", "transport": "network", "host": "127.0.0.1", "port": port, "timeout": 1.0}}
    with Kiosk.open(data_dir) as kiosk:
        if mode != "sell-only":
            DeviceRuntime.start(kiosk, printer)  # never stopped: the process ends by SIGKILL
        if mode == "resume":
            print("ready", flush=True)
        else:
            sale = sell(kiosk)
            print(f"sold {number(sale)} {sale.sale_id}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
