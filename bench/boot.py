"""Boot to selling on a ledger of years: the full verify, the quick verify at start, and start-to-READY=1 of the kiosk.

    nice -n 10 python bench/boot.py [--events 10000000] [--sample 1000000] [--runs 3] [--build-only]

Builds (once, cached under /var/tmp/memberkiosk-bench/) a ledger of `--events` top-ups by 10,000 members with the
store's own checksums, audit links and projections, runs the full (nightly) verify once, timed, which sets the
verified checkpoint, then prints medians of `--runs`: (with --sample N, the full verify of an N-event ledger),
`verify --quick` with nothing new and with 1,000 new events, SQLite's whole-file quick_check alone, and ready to
sell: `verify --quick` then `memberkiosk kiosk` (offscreen) until it sends READY=1 to a NOTIFY_SOCKET bound here,
as systemd runs ExecStartPre and ExecStart. Goal: ready to sell in 10 s or less with 10M events.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.events import SYSTEM, TOPPED_UP, EventDraft  # noqa: E402
from kiosk.app import Kiosk  # noqa: E402
from kiosk.services.members import Registration  # noqa: E402
from kiosk.store import ledger  # noqa: E402

CACHE = Path("/var/tmp/memberkiosk-bench")
MEMBERKIOSK = shutil.which("memberkiosk", path=str(Path(sys.executable).parent)) or "memberkiosk"
MEMBERS = 10_000
BATCH = 50_000
TXN = 1000  # events per transaction id, as a busy day's batches
GOAL_READY_S = 10.0
READY_TIMEOUT_S = 120.0


def build(home: Path, events: int) -> Path:
    """A data dir of `events` events with its keys beside it (cached: a finished build is reused); verified once."""
    data, done = home / "data", home / "built"
    if done.exists():
        return data
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = _env(home)
    os.environ.update(env)
    with Kiosk.open(data, kiosk_id="bench", store_id="bench") as kiosk:
        with kiosk.gateway.unit(SYSTEM) as unit:
            for i in range(MEMBERS):
                kiosk.members.add_in(unit, Registration(phone=f"139{i:08d}", consent=True))
        with kiosk.db.reading() as conn:
            seq = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
            balances = {m: ledger.load_balances(conn, m) for (m,) in conn.execute("SELECT member_id FROM members")}
        members, rng, chain, ts = sorted(balances), random.Random(1), kiosk.gateway.chain, kiosk.clock.now_ms()
        while seq < events:
            rows, txn = [], None
            for _ in range(min(BATCH, events - seq)):
                seq += 1
                member, amount = members[rng.randrange(MEMBERS)], rng.randint(100, 100_000)
                event_id = _event_id(ts, seq)
                txn = event_id if txn is None or seq % TXN == 0 else txn
                row = (event_id, "bench", "bench", seq, ts, txn, TOPPED_UP, member, f'{{"amount":{amount}}}',
                       f'{{"stored_value":{amount}}}')
                rows.append((*row, SYSTEM, 1, ledger.event_crc(row, SYSTEM, 1)))
                b = balances[member]
                balances[member] = replace(b, stored_value=b.stored_value + amount)  # what core.ledger.move does
            with kiosk.db.transaction() as conn:  # ledger.insert's own linking, without building Event objects
                conn.executemany(ledger.INSERT_EVENT, chain.linked(conn, rows))
                ledger.save_projections(conn, balances, {})
            print(f"\rbuilding {home.name}: {seq:,}/{events:,} events", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    done.touch()
    return data


def verified(home: Path) -> float:
    """The nightly full verify, once per cached ledger (it sets the verified checkpoint at the ledger's end): seconds."""
    mark = home / "verified"
    if not mark.exists():
        mark.write_text(f"{_cli(_env(home), 'verify'):.1f}\n")
    return float(mark.read_text())


def _event_id(ts: int, seq: int) -> str:
    """A UUIDv7 of `ts` whose random bits are the sequence: unique, and cheap for ten million."""
    return str(uuid.UUID(int=(ts & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62 | seq))


def _env(home: Path) -> dict[str, str]:
    return {"MEMBERKIOSK_DATA_DIR": str(home / "data"), "MEMBERKIOSK_KEY_DIR": str(home / "keys"),
            "PYTHONPATH": str(REPO)}


def _cli(env: dict[str, str], *args: str) -> float:
    """Seconds `memberkiosk ARGS` took; it must succeed."""
    t = time.perf_counter()
    proc = subprocess.run([MEMBERKIOSK, *args], env={**os.environ, **env}, cwd=REPO,
                          capture_output=True, text=True)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"memberkiosk {' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return took


def _add_events(env: dict[str, str], n: int) -> None:
    """n new top-ups since the checkpoint, as a day of selling would leave them."""
    os.environ.update(env)
    with Kiosk.open(Path(env["MEMBERKIOSK_DATA_DIR"]), check=False) as kiosk:
        kiosk.gateway.commit(SYSTEM, [EventDraft(TOPPED_UP, "bench-000001", {"amount": 100}, {"stored_value": 100})
                                      for _ in range(n)])


def _quick_check_s(data: Path) -> float:
    conn = sqlite3.connect(data / "ledger.sqlite")
    t = time.perf_counter()
    assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    took = time.perf_counter() - t
    conn.close()
    return took


def ready_to_sell(env: dict[str, str], home: Path) -> tuple[float, float]:
    """(seconds of the quick verify, seconds from starting it until the kiosk's READY=1), as systemd starts the unit."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(f"\0memberkiosk-bench-{os.getpid()}-{time.monotonic_ns()}")
    kivy_home = home / "kivy"
    run_env = {**os.environ, **env, "SDL_VIDEODRIVER": "offscreen", "KIVY_HOME": str(kivy_home), "KIVY_NO_ARGS": "1",
               "KIVY_NO_FILELOG": "1", "NOTIFY_SOCKET": "@" + sock.getsockname()[1:].decode()}
    t = time.perf_counter()
    quick = _cli(env, "verify", "--quick", "--if-present")
    child = subprocess.Popen([MEMBERKIOSK, "kiosk"], env=run_env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        sock.settimeout(READY_TIMEOUT_S)
        while "READY=1" not in sock.recv(4096).decode().splitlines():
            pass
        return quick, time.perf_counter() - t
    except socket.timeout:
        child.kill()
        raise SystemExit(f"no READY=1 within {READY_TIMEOUT_S} s: {child.communicate()[1].decode()[-2000:]}")
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--sample", type=int, default=0,
                        help="also time the full verify (median of --runs) on a ledger of this many events")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build-only", action="store_true", help="build (or find) the cached ledgers and stop")
    args = parser.parse_args()
    big_home = CACHE / f"boot-{args.events}"
    big = build(big_home, args.events)
    if args.build_only:
        return
    nightly = verified(big_home)
    big_env, med = _env(big_home), statistics.median
    full = None
    if args.sample:
        sample_home = CACHE / f"boot-{args.sample}"
        build(sample_home, args.sample)
        verified(sample_home)
        full = med([_cli(_env(sample_home), "verify") for _ in range(args.runs)])
    quick_idle = med([_cli(big_env, "verify", "--quick") for _ in range(args.runs)])
    quick_new = []
    for _ in range(args.runs):
        _add_events(big_env, 1000)
        quick_new.append(_cli(big_env, "verify", "--quick"))
    quick_check = _quick_check_s(big)  # the number behind leaving it out of the start: once is enough
    starts = [ready_to_sell(big_env, big_home) for _ in range(args.runs)]
    ready = med(s[1] for s in starts)
    mib = (big / "ledger.sqlite").stat().st_size / 2**20
    print(f"ledger: {args.events:,} events, {mib:,.0f} MiB; medians of {args.runs}")
    print(f"full verify (nightly), {args.events:,} events, once    {nightly:8.1f} s")
    if full is not None:
        print(f"full verify, {args.sample:,} events, median        {full:8.2f} s  (x{args.events / args.sample:.0f} = "
              f"{full * args.events / args.sample:,.0f} s)")
    print(f"verify --quick, nothing new                        {quick_idle:8.2f} s")
    print(f"verify --quick, 1,000 new events                   {med(quick_new):8.2f} s")
    print(f"PRAGMA quick_check, whole file (not at start), once {quick_check:8.2f} s")
    print(f"ready to sell: verify --quick + kiosk to READY=1   {ready:8.2f} s  (quick verify {med(s[0] for s in starts):.2f} s;"
          f" goal <= {GOAL_READY_S:.0f} s: {'met' if ready <= GOAL_READY_S else 'MISSED'})")


if __name__ == "__main__":
    main()
