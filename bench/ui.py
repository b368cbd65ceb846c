"""UI latencies on this machine: cold start to the first interactive frame, card tap to member screen, scan to line.

Goals: start <= 2 s, tap to member <= 100 ms, scan to line <= 50 ms. The kiosk runs in a child process on
seeded demo data with simulated devices (offscreen when there is no display); taps and scans come from a
driver-like thread, exactly as hardware events do. Run: .venv/bin/python bench/ui.py [--rounds N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GOALS_MS = {"cold_start": 2000, "start": 2000, "tap_to_member": 100, "scan_to_line": 50}


def child(data_dir: Path, rounds: int) -> None:
    """Run the real app, wait for its first frame, then tap cards and scan products `rounds` times each."""
    from kiosk.ui import boot

    boot.configure(data_dir / "kivy", fullscreen=False)
    from kivy.base import EventLoop, runTouchApp

    from kiosk.app import Kiosk
    from kiosk.demo.seed import DEMO_MEMBERS
    from kiosk.runtime import DeviceRuntime
    from kiosk.ui.app import KioskApp, UiSettings
    from kiosk.ui.main import demo_settings

    kiosk = Kiosk.open(data_dir)
    settings = demo_settings()
    runtime = DeviceRuntime.start(kiosk, settings.pop("devices"), settings.pop("receipt_dir"))
    app = KioskApp(kiosk, runtime, UiSettings(**settings))
    runTouchApp(embedded=True)
    app._run_prepare()
    samples = app.metrics.samples

    def step_until(name: str, count: int, bound_s: float = 10.0) -> None:
        deadline = time.monotonic() + bound_s
        while len(samples[name]) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"no {name} sample within {bound_s} s")
            EventLoop.idle()

    step_until("start", 1)
    first_frame = time.monotonic()
    reader, scanner = app.devices.simulator("card"), app.devices.simulator("scanner")
    codes = [code for _label, code in demo_settings()["demo_products"] if code.isdigit()]  # products, not coupons
    for n in range(rounds):
        threading.Thread(target=reader.tap, args=(DEMO_MEMBERS[n % 2][3],)).start()
        step_until("tap_to_member", n + 1)
        app.reset()
    app.go("checkout")
    for n in range(rounds):
        threading.Thread(target=scanner.scan, args=(codes[n % len(codes)],)).start()
        step_until("scan_to_line", n + 1)
    app.dispatch("on_stop")
    runtime.stop()
    kiosk.close()
    print(json.dumps({"first_frame_monotonic": first_frame, **samples}))


def main() -> None:
    """Seed a demo store, time the child from spawn to first frame, print medians against the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rounds)
        return
    from kiosk.app import Kiosk
    from kiosk.demo.seed import seed

    data_dir = Path(tempfile.mkdtemp(prefix="memberkiosk-bench-ui-"))
    with Kiosk.open(data_dir, kiosk_id="bench") as kiosk:
        seed(kiosk)
    env = {**os.environ, "KIVY_NO_CONSOLELOG": "1", "KIVY_LOG_MODE": "PYTHON"}
    if not env.get("DISPLAY"):
        env["SDL_VIDEODRIVER"] = "offscreen"
    spawned = time.monotonic()
    out = subprocess.run([sys.executable, __file__, "--child", str(data_dir), "--rounds", str(args.rounds)],
                         capture_output=True, text=True, env=env, timeout=120)
    if out.returncode:
        raise SystemExit(f"bench child failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    rows = {"cold_start": [(result["first_frame_monotonic"] - spawned) * 1000], "start": result["start"],
            "tap_to_member": result["tap_to_member"], "scan_to_line": result["scan_to_line"]}
    print(f"{'measure':<16}{'median ms':>10}{'max ms':>10}{'goal ms':>9}  n")
    for name, values in rows.items():
        verdict = "ok" if statistics.median(values) <= GOALS_MS[name] else "OVER"
        print(f"{name:<16}{statistics.median(values):>10.1f}{max(values):>10.1f}{GOALS_MS[name]:>9}  {len(values)} {verdict}")
    print("cold_start: process spawn to first frame; start: kiosk.ui import to first frame (what the app logs)")


if __name__ == "__main__":
    main()
