"""What the ledger's witness costs a durable commit: top-ups with and without it, beside a bare SQLite commit.

    python bench/witness.py [--runs 400]

Interleaved so that the machine's noise hits every variant alike; prints medians in µs and ratios.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up


def _us(fn) -> float:
    t = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:  # the disk the kiosk uses, not a tmpfs
        with Kiosk.open(Path(tmp) / "data", kiosk_id="bench") as kiosk:
            member = kiosk.members.register(Registration(phone="13900000001", consent=True)).member.member_id
            witness = kiosk.db.witness
            bare = sqlite3.connect(Path(tmp) / "bare.sqlite", isolation_level=None)
            bare.execute("PRAGMA journal_mode = WAL")
            bare.execute("PRAGMA synchronous = FULL")
            bare.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")

            def bare_row() -> None:
                bare.execute("BEGIN IMMEDIATE")
                bare.execute("INSERT INTO t (v) VALUES ('x')")
                bare.execute("COMMIT")

            def unwitnessed() -> None:
                kiosk.db.witness = None
                try:
                    top_up(kiosk.members, member, 100)
                finally:
                    kiosk.db.witness = witness

            samples: dict[str, list[float]] = {"bare": [], "without": [], "with": []}
            for _ in range(runs):
                samples["bare"].append(_us(bare_row))
                samples["without"].append(_us(unwitnessed))
                samples["with"].append(_us(lambda: top_up(kiosk.members, member, 100)))
            bare.close()
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"bare one-row SQLite WAL FULL commit  {med['bare']:8.0f} µs")
    print(f"top-up, no witness                  {med['without']:8.0f} µs  {med['without'] / med['bare']:.2f}x bare")
    print(f"top-up, with witness (sync ≤ 1/s)  {med['with']:8.0f} µs  {med['with'] / med['bare']:.2f}x bare")
    print(f"witness cost                        {med['with'] - med['without']:8.0f} µs  "
          f"{med['with'] / med['without']:.2f}x the unwitnessed top-up")


if __name__ == "__main__":
    main()
