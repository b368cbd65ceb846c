"""Hub store group commit: events/s applying a kiosk's events one per commit and 100 per commit, SQLite and PostgreSQL.

    python bench/hub_store.py [--events 10000] [--runs 3] [--postgres URL]

Without --postgres it starts a throwaway PostgreSQL of its own (Debian's package, as the tests do). Both databases
keep their durable settings (SQLite synchronous=FULL in WAL, PostgreSQL fsync on), so a commit costs a flush: that
is what group commit saves. Prints the median of the runs; issue 10 quotes ~300/s against ~17,000/s on PostgreSQL.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mqtt.hub.apply import Batch  # noqa: E402  (after the path: run as a script from anywhere)
from mqtt.hub.store import HubStore  # noqa: E402
from tests.hub.helpers import event  # noqa: E402
from tests.hub.postgres import Postgres, bin_dir  # noqa: E402

MEMBERS = 1000


def once(url: str, events: int, per_commit: int) -> float:
    """Events/s applying `events` events of one kiosk, `per_commit` in each apply, into an empty store."""
    kiosk = f"k-{uuid.uuid4().hex[:8]}"
    evs = [event(kiosk, s, f"m{s % MEMBERS}", stored_value=100) for s in range(1, events + 1)]
    with HubStore.open(url) as hub:
        t = time.perf_counter()
        for i in range(0, events, per_commit):
            hub.apply([Batch(kiosk, evs[i:i + per_commit])])
        elapsed = time.perf_counter() - t
        assert hub.watermark(kiosk) == events
    return events / elapsed


def measure(name: str, url_of: callable, events: int, runs: int) -> None:
    """Print the median events/s for 1 and 100 events per commit, and their ratio."""
    rates = {}
    for per_commit in (1, 100):
        rates[per_commit] = statistics.median(once(url_of(), events, per_commit) for _ in range(runs))
    print(f"{name:<11} 1/commit {rates[1]:>9,.0f} events/s   100/commit {rates[100]:>9,.0f} events/s"
          f"   x{rates[100] / rates[1]:.0f}", flush=True)


def postgres_schema(url: str) -> str:
    """A fresh schema on the server, so every run starts from empty tables."""
    import psycopg

    name = f"b_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="a server to use instead of starting one")
    args = parser.parse_args()
    print(f"{args.events:,} events per run, median of {args.runs}")
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", lambda: f"sqlite:///{tmp}/{uuid.uuid4().hex}.db", args.events, args.runs)
    server = None
    if args.postgres is None:
        server = Postgres(bin_dir())
        server.start()
    try:
        url = args.postgres or server.url
        measure("PostgreSQL", lambda: postgres_schema(url), args.events, args.runs)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
