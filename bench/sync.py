"""Chain sync on loopback, all in one run: the bare paho loop, events/s to the hub, a real kiosk's catch-up, spend
round trips and peak RSS, on SQLite and PostgreSQL.

    python bench/sync.py [--quick] [--runs N]

A real mosquitto (TLS, the shipped config and ACL), the real `memberkiosk hub serve` and `memberkiosk sync run` as
subprocesses, a private PostgreSQL (tests/hub/postgres.py). Each run starts a hub on a fresh database; the table
shows the median of the runs (the machine is small and noisy). Exits non-zero only on an error: a missed goal is
printed as MISSED.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import mqtt_baseline, sync_sim  # noqa: E402  (after the path: run as a script from anywhere)
from bench.hub_store import postgres_schema  # noqa: E402
from core.points import topup_drafts  # noqa: E402
from kiosk.app import Kiosk  # noqa: E402
from kiosk.store.ledger import Identity  # noqa: E402
from mqtt.agent.asker import Replies, ask_over  # noqa: E402
from mqtt.connection import Connection  # noqa: E402
from mqtt import topics  # noqa: E402
from tests.hub.postgres import Postgres, bin_dir  # noqa: E402
from tests.mqtt.broker import HUB, KIOSKS, Mosquitto, password  # noqa: E402
from tests.sync.helpers import member_with  # noqa: E402

KIOSK, STORE = "shop1-k1", "shop1"
SIMULATED = 50
GOAL_RATE, GOAL_RATIO, GOAL_CATCH_UP, GOAL_SPEND = 5_000, 0.80, 5.0, 20.0


@dataclass(frozen=True)
class Sizes:
    runs: int
    baseline: int  # messages per bare-loop run
    one: int  # events of the single simulated kiosk
    each: int  # events of each of the 50 simulated kiosks
    backlog: int  # events in the real kiosk's ledger
    asks: int  # spend requests


FULL = Sizes(runs=3, baseline=5_000, one=20_000, each=1_000, backlog=10_000, asks=200)
QUICK = Sizes(runs=1, baseline=1_000, one=2_000, each=40, backlog=2_000, asks=30)


def _script() -> str:
    """The installed `memberkiosk` next to this interpreter."""
    found = shutil.which("memberkiosk", path=str(Path(sys.executable).parent)) or shutil.which("memberkiosk")
    if not found:
        raise SystemExit("the memberkiosk console script is not installed: run tests/run.sh")
    return found


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _spawn(args: list[str], log: Path, **kwargs: object) -> subprocess.Popen:
    """A `memberkiosk` subprocess whose log goes to a file (a pipe nobody reads would stall it once full)."""
    with open(log, "w") as err:
        proc = subprocess.Popen([_script(), *args], stderr=err, text=True, **kwargs)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _tail(proc: subprocess.Popen) -> str:
    return proc.log.read_text(errors="replace")[-2000:]  # type: ignore[attr-defined]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then the exit status; an error if it failed."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"{proc.args[1:3]} did not stop on SIGTERM in 20 s") from None
    if proc.returncode:
        raise RuntimeError(f"{proc.args[1:3]} exited {proc.returncode}: {_tail(proc)}")


@contextlib.contextmanager
def hub(broker: Mosquitto, db: str, work: Path) -> Iterator[subprocess.Popen]:
    """`memberkiosk hub serve` on `db`, ready when it says so; stopped by SIGTERM after."""
    secret = work / "hub.password"
    secret.write_text(password(HUB))
    proc = _spawn(["hub", "serve", "--broker", broker.url, "--db", db, "--ca-file", str(broker.pki.ca_file),
                   "--password-file", str(secret)], work / "hub.log", stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    if not line.startswith("hub serving"):
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"hub serve did not start: {line}{_tail(proc)}")
    try:
        yield proc
    finally:
        _stop(proc)


def make_backlog(home: Path, events: int) -> str:
    """A kiosk data and key directory under `home` whose ledger holds `events` events made offline; its member."""
    k = Kiosk.open(home / "data", kiosk_id=KIOSK, store_id=STORE, operator="M01", key_dir=home / "keys", escrow=True)
    try:
        member = member_with(k, "13800138000", 100)  # two events: registered, topped up
        left = events - k.chain.head()
        while left > 0:
            n = min(left, 1000)
            k.gateway.commit("M01", topup_drafts(member, 100, None) * n)
            left -= n
        assert k.chain.head() == events, k.chain.head()
    finally:
        k.close()
    (home / "keys" / "mqtt.password").write_text(password(KIOSK) + "\n")
    return member


def _acked(ledger: Path) -> int:
    """The kiosk's acked_seq, read-only beside the running agent."""
    with contextlib.closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5)) as conn:
        return conn.execute("SELECT acked_seq FROM chain_sync WHERE id = 1").fetchone()[0]


@contextlib.contextmanager
def agent(broker: Mosquitto, home: Path) -> Iterator[subprocess.Popen]:
    """`memberkiosk sync run` on the kiosk in `home`; stopped by SIGTERM after."""
    env = {**os.environ, "MEMBERKIOSK_DATA_DIR": str(home / "data"), "MEMBERKIOSK_KIOSK_ID": KIOSK,
           "MEMBERKIOSK_STORE_ID": STORE, "MEMBERKIOSK_KEY_DIR": str(home / "keys"), "MEMBERKIOSK_BROKER": broker.url,
           "MEMBERKIOSK_BROKER_CA_FILE": str(broker.pki.ca_file)}
    env.pop("MEMBERKIOSK_CONFIG", None)
    proc = _spawn(["sync", "run"], home / "agent.log", env=env, stdout=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        _stop(proc)


def catch_up(proc: subprocess.Popen, home: Path, events: int, timeout: float = 120.0) -> float:
    """Seconds from the agent's start until the hub acknowledged the whole backlog."""
    started, ledger = time.perf_counter(), home / "data" / "ledger.sqlite"
    while _acked(ledger) < events:
        if proc.poll() is not None:
            raise RuntimeError(f"sync run exited {proc.returncode}: {_tail(proc)}")
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the hub acked {_acked(ledger)} of {events} events in {timeout} s")
        time.sleep(0.005)
    return time.perf_counter() - started


def spend_ms(broker: Mosquitto, member: str, asks: int) -> float:
    """Median ms of spend requests beyond the allowance (1 fen each), over the agent's asker on a connection."""
    replies = Replies()
    conn = Connection(broker.settings(KIOSK, client_id=f"{KIOSK}-bench"))
    conn.subscribe(topics.down(STORE, KIOSK, "spend"), replies.on_message)
    conn.connect(10)
    try:
        times = []
        for _ in range(asks):
            t = time.perf_counter()
            reply = ask_over(conn, Identity(KIOSK, STORE), replies, member, {"stored_value": 1}, 3.0)
            times.append((time.perf_counter() - t) * 1000)
            if not reply.granted:
                raise RuntimeError(f"the hub refused a spend of 1 fen: {reply.reason}")
        return statistics.median(times)
    finally:
        conn.close()


def one_run(broker: Mosquitto, db: str, template: Path, member: str, sizes: Sizes, work: Path) -> dict[str, float]:
    """A hub on a fresh `db`: the real kiosk's catch-up and spends, then 1 and 50 simulated kiosks."""
    home = work / "kiosk"
    shutil.copytree(template, home)
    try:
        with hub(broker, db, work) as served:
            with agent(broker, home) as syncing:
                result = {"catch_up_s": catch_up(syncing, home, sizes.backlog)}
                result["spend_ms"] = spend_ms(broker, member, sizes.asks)
                result["agent_rss_mb"] = peak_rss_mb(syncing.pid)
            for label, n, each in (("one_kiosk", 1, sizes.one), ("kiosks_50", SIMULATED, sizes.each)):
                kiosks = [sync_sim.SimulatedKiosk(broker, k) for k in sync_sim.kiosk_ids(n)]
                try:
                    result[label] = sync_sim.events_per_second(kiosks, each)
                finally:
                    for k in kiosks:
                        k.close()
            result["hub_rss_mb"] = peak_rss_mb(served.pid)
    finally:
        shutil.rmtree(home)
    return result


def measure(name: str, url_of: Callable[[], str], broker: Mosquitto, template: Path, member: str, sizes: Sizes,
            work: Path) -> dict[str, float]:
    """The median of each figure over the runs."""
    runs = [one_run(broker, url_of(), template, member, sizes, work) for _ in range(sizes.runs)]
    for r in runs:
        print(f"  {name} run: " + ", ".join(f"{k} {v:,.1f}" for k, v in r.items()), flush=True)
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(bare: float, results: dict[str, dict[str, float]], sizes: Sizes) -> None:
    """One table: the figures, the goals and the ratios to the bare paho loop."""
    print(f"\nbare paho QoS 1 publish->subscribe (TLS, loopback, {sizes.baseline} x 200 B): {bare:,.0f} msg/s")
    print(f"{'':<58}" + "".join(f"{name:>22}" for name in results))
    rows = [("events/s, 1 kiosk", "one_kiosk"), (f"events/s, {SIMULATED} simulated kiosks", "kiosks_50")]
    for label, key in rows:
        cells = "".join(f"{r[key]:>9,.0f} x{r[key] / bare:4.2f} {_mark(r[key] >= GOAL_RATE and r[key] / bare >= GOAL_RATIO):>6}"
                        for r in results.values())
        print(f"{label + f' (goal {GOAL_RATE:,}, x{GOAL_RATIO:.2f} bare)':<58}{cells}")
    print(f"{f'catch-up of {sizes.backlog:,} events, s (goal {GOAL_CATCH_UP:g})':<58}"
          + "".join(f"{r['catch_up_s']:>15.2f} {_mark(r['catch_up_s'] <= GOAL_CATCH_UP):>6}" for r in results.values()))
    print(f"{f'spend ask beyond allowance, median ms (goal {GOAL_SPEND:g})':<58}"
          + "".join(f"{r['spend_ms']:>15.2f} {_mark(r['spend_ms'] <= GOAL_SPEND):>6}" for r in results.values()))
    print(f"{'peak RSS of sync run (agent), MiB':<58}" + "".join(f"{r['agent_rss_mb']:>22.1f}" for r in results.values()))
    print(f"{'peak RSS of hub serve, MiB':<58}" + "".join(f"{r['hub_rss_mb']:>22.1f}" for r in results.values()))
    print(f"(medians of {sizes.runs} run(s); x = events/s over bare msg/s; {SIMULATED} kiosks send {sizes.each} events"
          f" each, 1 kiosk {sizes.one}; spend = median of {sizes.asks} asks per run through mqtt.agent.asker.ask_over"
          f" on a connection of the kiosk's user; catch-up timed from `sync run` start; load average"
          f" {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: one run of small sizes")
    parser.add_argument("--runs", type=int, help="runs per database (default 3, --quick 1)")
    args = parser.parse_args()
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # the bench's own clients closing are no news
    sizes = QUICK if args.quick else FULL
    if args.runs:
        sizes = dataclasses.replace(sizes, runs=args.runs)
    programs = bin_dir()
    if programs is None:
        raise SystemExit("PostgreSQL is not installed (Debian package postgresql): run tests/run.sh")
    with tempfile.TemporaryDirectory(prefix="memberkiosk-bench-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker", users=(*KIOSKS, HUB, *sync_sim.kiosk_ids(SIMULATED)))
        broker.start()
        server = Postgres(programs)
        try:
            server.start()
            bare = mqtt_baseline.measure(broker, sizes.baseline, runs=sizes.runs)["median_msg_s"]
            print(f"bare paho loop: {bare:,.0f} msg/s; making a ledger of {sizes.backlog:,} events...", flush=True)
            member = make_backlog(work / "template", sizes.backlog)
            results = {
                "SQLite": measure("SQLite", lambda: f"sqlite:///{work}/hub-{time.monotonic_ns()}.sqlite", broker,
                                  work / "template", member, sizes, work),
                "PostgreSQL": measure("PostgreSQL", lambda: postgres_schema(server.url), broker, work / "template",
                                      member, sizes, work),
            }
        finally:
            server.stop()
            broker.stop()
    report(bare, results, sizes)


if __name__ == "__main__":
    main()
