"""The fleet at scale on loopback: 200 simulated kiosks sending telemetry every 5 s to one hub and one mosquitto; the
hub's CPU share, the latency from a telemetry publish to `fleet status`, and a signed config push to all 200.

    python bench/fleet.py [--kiosks N] [--seconds S]

The broker runs `memberkiosk fleet broker-config` output for the N kiosks (TLS, per-kiosk logins and ACLs); the hub
is the real `memberkiosk hub serve` on SQLite, as a subprocess. Each simulated kiosk (tests/fleet/hub/peers.py) is
its own paho connection with its own login: birth and will, telemetry, and for configs the kiosk's checks
(signature, fields, address) before it answers "applied". Exits non-zero only on an error; a missed goal is printed
as MISSED.
"""
from __future__ import annotations

import argparse
import logging
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.sync import _script, _spawn, _stop  # noqa: E402  (after the path: run as a script from anywhere)
from core.codec import dumps  # noqa: E402
from kiosk.clock import wall_ms  # noqa: E402
from mqtt import topics  # noqa: E402
from mqtt.connection import Connection, Inbound  # noqa: E402
from mqtt.fleet import protocol, signing  # noqa: E402
from mqtt.hub.store import HubStore  # noqa: E402
from tests.fleet.conftest import FleetBroker  # noqa: E402
from tests.fleet.hub.peers import Peer, telemetry  # noqa: E402

STORES = 20
PERIOD = 5.0  # seconds between two telemetry messages of one kiosk
GOAL_PUSH = 5.0  # seconds from the push to the last kiosk's "applied"
PASSPHRASE = b"bench passphrase"


def kiosk_ids(n: int) -> list[tuple[str, str]]:
    """(store, kiosk) of n kiosks spread over the stores."""
    return [(f"s{i % STORES:02d}", f"s{i % STORES:02d}-k{i:03d}") for i in range(n)]


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def telemetry_load(peers: list[Peer], seconds: float, probe: Peer, db: HubStore) -> list[float]:
    """Every kiosk's telemetry every PERIOD s (spread evenly) for `seconds`; once a second the probe kiosk sends a
    sample with a fresh marker and times until the hub's table (what `fleet status` reads) shows it."""
    stop = threading.Event()

    def load() -> None:
        gap, i = PERIOD / len(peers), 0
        next_at = time.monotonic()
        while not stop.is_set():
            p = peers[i % len(peers)]
            p.conn.publish(topics.up(p.store, p.kiosk, "telemetry"), dumps(telemetry(uptime_s=i)).encode())
            i += 1
            next_at += gap
            time.sleep(max(0.0, next_at - time.monotonic()))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    latencies, marker, end = [], 1_000_000, time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            marker += 1
            sent = probe.send("telemetry", telemetry(unacked=marker))
            while (k := db.fleet_kiosk(probe.kiosk)) is None or k.unacked != marker:
                if time.monotonic() - sent > 10:
                    raise RuntimeError("the hub did not show the probe's telemetry within 10 s")
                time.sleep(0.002)
            latencies.append(time.monotonic() - sent)
            time.sleep(max(0.0, 1.0 - latencies[-1]))
    finally:
        stop.set()
        thread.join()
    return latencies


def push_to_all(broker: FleetBroker, keys: Path, n: int) -> tuple[float, int]:
    """Publish one signed rules config to every kiosk; seconds until the last "applied" outcome, and how many came."""
    key = signing.load_private(keys, PASSPHRASE)
    now = wall_ms()
    payload = protocol.new_config("rules", now, protocol.Target("all"), "toml", "[earn]\nper_yuan = 1\n", now)
    outcomes: queue.Queue[bool] = queue.Queue()

    def receive(m: Inbound) -> None:
        doc = protocol.parse_outcome(m.payload)
        if doc["id"] == payload["id"]:
            outcomes.put(doc["ok"])

    conn = Connection(broker.settings("operator", client_id="bench-operator"))
    conn.connect(10)
    try:
        conn.subscribe(f"{topics.ROOT}/+/+/up/outcome", receive)
        start = time.monotonic()
        conn.publish(protocol.config_topic(protocol.Target("all"), "rules"), signing.sign(payload, key),
                     retain=True).wait(10)
        applied = 0
        for _ in range(n):
            try:
                applied += outcomes.get(timeout=max(0.0, start + 30 - time.monotonic()))
            except queue.Empty:
                break
        return time.monotonic() - start, applied
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the telemetry load runs (30)")
    args = parser.parse_args()
    logging.getLogger("mqtt.connection").setLevel(logging.ERROR)  # 200 "lost the broker" lines when kiosks close
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    ids = kiosk_ids(args.kiosks)
    broker = FleetBroker(work / "broker", ",".join(f"{s}:{k}" for s, k in ids))
    broker.start()
    signing.init_keys(work / "operator", PASSPHRASE)
    public = signing.load_public(work / "operator")
    db_url = f"sqlite:///{work}/hub.sqlite"
    hub = _spawn(["hub", "serve", "--broker", broker.url, "--db", db_url, "--ca-file", str(broker.pki.ca_file),
                  "--password-file", str(broker.dir / "credentials" / "hub.password")], work / "hub.log",
                 stdout=subprocess.PIPE)
    peers: list[Peer] = []
    try:
        if not hub.stdout.readline().startswith("hub serving"):
            raise RuntimeError(f"hub serve did not start: {(work / 'hub.log').read_text()[-2000:]}")
        started = time.monotonic()
        peers = [Peer(broker, store, kiosk, operator=public) for store, kiosk in ids]
        print(f"{len(peers)} kiosks connected in {time.monotonic() - started:.1f} s", flush=True)
        with HubStore.open(db_url) as db:
            while sum(k.online for k in db.fleet_kiosks()) < len(peers):
                time.sleep(0.05)
            cpu0, wall0 = cpu_seconds(hub.pid), time.monotonic()
            latencies = telemetry_load(peers, args.seconds, peers[0], db)
            share = (cpu_seconds(hub.pid) - cpu0) / (time.monotonic() - wall0)
        took, applied = push_to_all(broker, work / "operator", len(peers))
        cli_start = time.monotonic()
        subprocess.run([_script(), "fleet", "status", "--json", "--db", db_url], check=True, capture_output=True)
        cli_took = time.monotonic() - cli_start
    finally:
        for p in peers:
            p.close()
        _stop(hub)
        broker.stop()
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    rate = len(peers) / PERIOD
    print(f"hub CPU with {len(peers)} kiosks at {rate:.0f} telemetry/s: {share:.1%} of one core "
          f"({share / os.cpu_count():.1%} of the machine's {os.cpu_count()})")
    print(f"telemetry publish -> `fleet status` data: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms ({len(latencies)} probes); "
          f"`fleet status --json` itself takes {cli_took:.2f} s (process start)")
    verdict = "ok" if applied == len(peers) and took <= GOAL_PUSH else "MISSED"
    print(f"config push to {len(peers)} kiosks: {applied} applied, last after {took:.2f} s "
          f"(goal <= {GOAL_PUSH:g} s: {verdict})")


if __name__ == "__main__":
    main()
