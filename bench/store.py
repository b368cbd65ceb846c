"""Store benchmark: our SQLite ledger + TinyDB documents against stock TinyDB (JSONStorage), same data, one run.

    python bench/store.py [--members 100000] [--events 1000000] [--tinydb-members 100000]

Prints medians (several runs; the machine is small and noisy), the goals beside them, and ratios.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from core.events import SALE_COMPLETED, SYSTEM, TOPPED_UP, Event, EventDraft
from core.points import topup_drafts
from kiosk.app import Kiosk
from kiosk.ids import new_event_id
from kiosk.followers.receipts import ReceiptFollower
from kiosk.followers.runner import FollowerRunner
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store import members as member_rows

REPO = Path(__file__).resolve().parents[1]


def phone(i: int) -> str:
    return f"139{i:08d}"


def card(i: int) -> str:
    return f"04{i:06X}"


def median_us(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t) / 1000)
    return statistics.median(samples)


def build_ours(data_dir: Path, members: int, events: int) -> None:
    """Members through the registration code, then top-ups through the commit gateway, in large transactions."""
    with Kiosk.open(data_dir, kiosk_id="bench") as kiosk:
        for start in range(0, members, 10_000):
            with kiosk.gateway.unit(SYSTEM) as unit:
                for i in range(start, min(members, start + 10_000)):
                    kiosk.members.add_in(unit, Registration(phone=phone(i), consent=True, card=card(i)))
        rng = random.Random(1)
        remaining = events - 2 * members
        while remaining > 0:
            n = min(remaining, 20_000)
            drafts = [
                EventDraft(TOPPED_UP, f"bench-{rng.randint(1, members):06d}", {"amount": a}, {"stored_value": a})
                for a in (rng.randint(100, 100_000) for _ in range(n))
            ]
            kiosk.gateway.commit(SYSTEM, drafts)
            remaining -= n


def build_tinydb(path: Path, members: int) -> None:
    """The naive design-card store: one JSON file, members with balances and their events inside."""
    from tinydb import TinyDB

    docs = {
        str(i + 1): {"member_id": f"bench-{i + 1:06d}", "phone": phone(i), "cards": [card(i)], "stored_value": 0}
        for i in range(members)
    }
    path.write_text(json.dumps({"members": docs, "events": {}}))
    TinyDB(path).close()


@contextlib.contextmanager
def following(kiosk: Kiosk) -> Iterator[None]:
    """The kiosk's ledger followers running as in production, woken by every commit through the gateway."""
    runner = FollowerRunner(kiosk.db, [ReceiptFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id)])
    kiosk.gateway.subscribe(runner.wake)
    runner.start()
    try:
        yield
    finally:
        runner.stop()


def bench_ours(data_dir: Path, members: int, runs: int, tmp: Path) -> dict:
    """Lookups, then durable commits interleaved with the floors they are compared to, so noise hits all alike."""
    rng = random.Random(2)
    out = {}
    with Kiosk.open(data_dir) as kiosk, following(kiosk):
        out["lookup_card_us"] = median_us(lambda: kiosk.members.by_card(card(rng.randrange(members))), runs)
        out["lookup_phone_us"] = median_us(lambda: kiosk.members.by_phone(phone(rng.randrange(members))), runs)
        with kiosk.db.reading() as conn:  # the keyed-hash seek and the AES-GCM opening alone, without balances
            out["lookup_phone_row_us"] = median_us(lambda: member_rows.by_phone(conn, phone(rng.randrange(members))), runs)
        conn = sqlite3.connect(tmp / "bare.sqlite", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        fd = os.open(tmp / "bare.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)

        def bare_row() -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES ('x')")
            conn.execute("COMMIT")

        # the top-up is the whole durable commit: gateway policy, audit chain link, SQLite COMMIT and the witness
        samples: dict[str, list[float]] = {"topup_us": [], "bare_sqlite_commit_us": [], "append_fsync_us": []}
        for _ in range(300):
            samples["topup_us"].append(median_us(lambda: top_up(kiosk.members, f"bench-{rng.randint(1, members):06d}", 100), 1))
            samples["bare_sqlite_commit_us"].append(median_us(bare_row, 1))
            samples["append_fsync_us"].append(median_us(lambda: (os.write(fd, b"x" * 100), os.fsync(fd)), 1))
        os.close(fd)
        conn.close()
    out.update({k: statistics.median(v) for k, v in samples.items()})
    return out


def bench_tinydb(path: Path, members: int) -> dict:
    from tinydb import Query, TinyDB

    rng = random.Random(3)
    db = TinyDB(path)
    table, q = db.table("members"), Query()
    out = {
        "tinydb_lookup_card_us": median_us(lambda: table.get(q.cards.any([card(rng.randrange(members))])), 5),
        "tinydb_lookup_phone_us": median_us(lambda: table.get(q.phone == phone(rng.randrange(members))), 5),
    }

    def topup() -> None:
        i = rng.randrange(members)
        table.update(lambda d: d.update(stored_value=d["stored_value"] + 100), q.phone == phone(i))
        db.table("events").insert({"type": TOPPED_UP, "member": i, "amount": 100})

    out["tinydb_topup_us"] = median_us(topup, 3)
    db.close()
    return out


_CHILD_OPEN = """
import sys, time, resource
from pathlib import Path
t = time.perf_counter()
from kiosk.app import Kiosk
from kiosk.ids import new_event_id
from kiosk.followers.receipts import ReceiptFollower
from kiosk.followers.runner import FollowerRunner
k = Kiosk.open(Path(sys.argv[1]))
opened = time.perf_counter() - t
n = int(sys.argv[2])
for i in range(10000):
    k.members.by_card(f"04{i * 7919 % n:06X}")
print(opened, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

_CHILD_CRASH = """
import os, sys, signal
from pathlib import Path
from kiosk.app import Kiosk
from kiosk.ids import new_event_id
from kiosk.followers.receipts import ReceiptFollower
from kiosk.followers.runner import FollowerRunner
from kiosk.services.topup import top_up
k = Kiosk.open(Path(sys.argv[1]), check=False)
k.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
for i in range(2000):
    top_up(k.members, f"bench-{i + 1:06d}", 1)
os.kill(os.getpid(), signal.SIGKILL)
"""

_CHILD_TINYDB_RSS = """
import sys, resource
from tinydb import TinyDB, Query
db = TinyDB(sys.argv[1]); db.table("members").get(Query().phone == "0")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _python(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env).stdout


def bench_open(data_dir: Path, members: int) -> dict:
    """Open after a kill -9 that left a 2000-commit WAL to recover, in fresh processes; peak RSS while serving."""
    samples, rss = [], []
    for _ in range(3):
        subprocess.run([sys.executable, "-c", _CHILD_CRASH, str(data_dir)], env={**os.environ, "PYTHONPATH": str(REPO)})
        wal = (data_dir / "ledger.sqlite-wal").stat().st_size
        seconds, maxrss = _python(_CHILD_OPEN, str(data_dir), str(members)).split()
        samples.append(float(seconds))
        rss.append(int(maxrss) / 1024)
    return {"open_recover_s": statistics.median(samples), "wal_bytes_recovered": wal, "peak_rss_mb": max(rss)}


INGEST_BATCHES = (1000, 5000)  # a few MQTT messages per transaction, and a sync file's worth


def foreign_events(n: int, members: int) -> list[Event]:
    """n events as another kiosk of the store would send them: top-ups, and small sales that spend stored value."""
    rng, events, t0 = random.Random(5), [], 1_795_000_000_000
    for seq in range(1, n + 1):
        member, ts = f"K2-{rng.randint(1, members):06d}", t0 + seq
        if seq % 2:
            drafts = topup_drafts(member, rng.randint(1, 500) * 100, None)
        else:
            amount = rng.randint(1, 50) * 100
            line = {"sku": "TEA-500", "name": "绿茶", "qty": 1, "price": amount, "net": amount, "stored_value": amount}
            drafts = [EventDraft(SALE_COMPLETED, member, {"lines": [line], "coupons": [], "day": "2026-11-30"},
                                 {"stored_value": -amount, "points": amount // 100, "lifetime_spend": amount})]
        event_id = new_event_id(ts)
        events += [Event(event_id, "K2", "bench", seq, ts, event_id, d.type, d.member_id, d.data, d.deltas, "C01", d.v)
                   for d in drafts]
    return events


def bench_ingest(tmp: Path, n: int, batches: tuple[int, ...], runs: int) -> dict:
    """Ingest of n foreign events into a fresh kiosk of the same store, one transaction per batch, for each batch
    size; median of `runs` fresh kiosks each."""
    events, out = foreign_events(n, 20_000), {"ingest_events": n}
    for batch in batches:
        rates = []
        for run in range(runs):
            with Kiosk.open(tmp / f"ingest-{batch}-{run}", kiosk_id="K1", store_id="bench") as kiosk:
                t = time.perf_counter()
                report = kiosk.sync.ingest(events, batch)
                rates.append(n / (time.perf_counter() - t))
                assert report.new == n, report
        out[f"ingest_per_s_{batch}"] = statistics.median(rates)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tinydb-members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--ingest-events", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=REPO / "bench") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        build_ours(tmp / "ours", args.members, args.events)
        print(f"built {args.members} members / {args.events} events in {time.perf_counter() - t:.0f} s; "
              f"ledger {os.path.getsize(tmp / 'ours' / 'ledger.sqlite') / 2**20:.0f} MiB")
        build_tinydb(tmp / "tiny.json", args.tinydb_members)
        r = {**bench_ours(tmp / "ours", args.members, args.runs, tmp), **bench_open(tmp / "ours", args.members)}
        r.update(bench_tinydb(tmp / "tiny.json", args.tinydb_members))
        r["tinydb_peak_rss_mb"] = int(_python(_CHILD_TINYDB_RSS, str(tmp / "tiny.json"))) / 1024
        r.update(bench_ingest(tmp, args.ingest_events, INGEST_BATCHES, 3))
    rows = [
        ("lookup by card UID", f"{r['lookup_card_us']:.1f} µs", "<= 100 µs", f"TinyDB {r['tinydb_lookup_card_us'] / 1000:.1f} ms = {r['tinydb_lookup_card_us'] / r['lookup_card_us']:.0f}x slower"),
        ("phone row, sealed", f"{r['lookup_phone_row_us']:.1f} µs", "<= 100 µs", "keyed-hash index seek + AES-GCM open"),
        ("lookup by phone (sealed)", f"{r['lookup_phone_us']:.1f} µs", "<= 100 µs", f"TinyDB {r['tinydb_lookup_phone_us'] / 1000:.1f} ms = {r['tinydb_lookup_phone_us'] / r['lookup_phone_us']:.0f}x slower"),
        ("gateway top-up commit", f"{r['topup_us']:.0f} µs", "<= 1.6x bare", f"{r['topup_us'] / r['bare_sqlite_commit_us']:.2f}x bare SQLite ({r['bare_sqlite_commit_us']:.0f} µs), {r['topup_us'] / r['append_fsync_us']:.2f}x append+fsync ({r['append_fsync_us']:.0f} µs); TinyDB {r['tinydb_topup_us'] / 1e6:.2f} s = {r['tinydb_topup_us'] / r['topup_us']:.0f}x slower"),
        ("open and recover", f"{r['open_recover_s']:.2f} s", "<= 3 s", f"after kill -9 with a {r['wal_bytes_recovered'] / 2**20:.1f} MiB WAL"),
        *((f"ingest, batches of {batch}", f"{r[f'ingest_per_s_{batch}']:,.0f}/s", ">= 20,000/s",
           f"{r['ingest_events']:,} foreign events, one transaction per batch") for batch in INGEST_BATCHES),
        ("peak RSS serving lookups", f"{r['peak_rss_mb']:.0f} MB", "<= 150 MB", f"TinyDB just loading its file: {r['tinydb_peak_rss_mb']:.0f} MB"),
    ]
    for name, value, goal, note in rows:
        print(f"{name:<26} {value:>10}   goal {goal:<22} {note}")


if __name__ == "__main__":
    main()
