"""Sales facts benchmark: building the fact tables from zero, and simulate's first run reading them, against the
old way (decoding every sale's JSON from the ledger), on one ledger of N sales made through the commit gateway.

  nice -n 10 .venv/bin/python bench/facts.py [--sales 1000000] [--sample 100000] [--runs 3]

Goals (issue 12): facts from zero <= 60 s per 1M sales; simulate's first run <= 10 s per 1M sales. The old way is
timed on the first `--sample` sales and scaled. `measure(sales)` returns the figures for bench/analytics.py.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import native  # noqa: E402
from core.events import SALE_COMPLETED, SYSTEM  # noqa: E402
from core.quote import quote  # noqa: E402
from core.quote_input import BasketLine, MemberState, TenderRequest  # noqa: E402
from kiosk.app import Kiosk  # noqa: E402
from kiosk.demo.pricing import seed_pricing  # noqa: E402
from kiosk.followers.facts import FactsFollower  # noqa: E402
from kiosk.followers.runner import replay  # noqa: E402
from kiosk.services.history import History, load_history  # noqa: E402
from kiosk.services.members import Registration  # noqa: E402
from kiosk.store.db import Database  # noqa: E402

WEDNESDAY = dt.datetime(2026, 11, 25, 10, 0)
TEMPLATES = 2000  # distinct priced baskets; each sale is one of them, for a guest or one of the members


def build_ledger(kiosk: Kiosk, sales: int, members: int = 2_000, seed: int = 5,
                 progress: Callable[[int], None] = lambda n: None) -> None:
    """Commit `sales` sales (1-8 lines, a third of them members' earning points) through the gateway in large
    batches; baskets are priced once per template by the real quote, so the ledger holds real sale data."""
    seed_pricing(kiosk)
    rules = kiosk.sales.pricing().rules
    products = {sku: replace(p, stock=None) for sku, p in kiosk.sales.catalog().items() if sku != "WINE-82"}
    rng, skus = random.Random(seed), sorted(products)
    with kiosk.gateway.unit(SYSTEM) as unit:
        ids = [kiosk.members.add_in(unit, Registration(phone=f"139{i:08d}", consent=True))
               for i in range(members)]
    member = MemberState(member_id="template", tier="普通", birthday=dt.date(1990, 5, 17))
    templates = []
    for t in range(TEMPLATES):
        basket = [BasketLine(sku, rng.randint(1, 3)) for sku in rng.sample(skus, rng.randint(1, min(8, len(skus))))]
        who = member if t % 3 == 0 else None
        drafts = quote(basket, who, rules, products, [], TenderRequest(), WEDNESDAY, pricer=native.price_basket).drafts
        templates.append((who is not None, drafts))
    batch = []
    for i in range(sales):
        is_member, drafts = templates[rng.randrange(TEMPLATES)]
        if is_member:
            m = ids[rng.randrange(members)]
            drafts = [replace(d, member_id=m) for d in drafts]
        batch += drafts
        if len(batch) >= 5000 or i == sales - 1:
            kiosk.gateway.commit(SYSTEM, batch)
            batch = []
            progress(i + 1)


def history_from_ledger(db: Database, limit: int | None = None) -> History:
    """The old way, for reference: decode each sale's JSON from the ledger into the History columns."""
    h = History()
    index: dict[str, dict[str, int]] = {"skus": {}, "tiers": {}, "coupons": {}, "members": {}}

    def id_of(table: str, value: str) -> int:
        ix = index[table]
        if value not in ix:
            ix[value] = len(ix)
            getattr(h, table).append(value)
        return ix[value]

    c = h.cols
    sql = "SELECT member_id, data FROM events WHERE type = ? ORDER BY pos" + (f" LIMIT {int(limit)}" if limit else "")
    with db.reading() as conn:
        for member_id, data in conn.execute(sql, (SALE_COMPLETED,)):
            sale = json.loads(data)
            for line in sale["lines"]:
                i = id_of("skus", line["sku"])
                if i == len(h.prices):
                    h.prices.append(line["price"])
                    h.names.append(line["name"])
                h.prices[i], h.names[i] = line["price"], line["name"]
                c["sku"].append(i)
                c["qty"].append(line["qty"])
            c["offsets"].append(len(c["sku"]))
            c["tier"].append(id_of("tiers", sale["tier"]) if member_id and sale.get("tier") else -1)
            c["coupon"].append(id_of("coupons", sale["coupons"][0]) if sale["coupons"] else -1)
            c["points"].append(sum(line["points_used"] for line in sale["lines"]))
            c["day"].append(dt.date.fromisoformat(sale["day"]).toordinal())
            c["member"].append(id_of("members", member_id) if member_id else -1)
            c["bonus"].append(1 if sale.get("birthday_bonus") else 0)
    return h


def sales_of(h: History) -> list[tuple]:
    """Each sale of a history with its strings, so histories with different id orders compare."""
    c, out = h.cols, []
    for i in range(h.count):
        lo, hi = c["offsets"][i], c["offsets"][i + 1]
        out.append((tuple((h.skus[c["sku"][j]], c["qty"][j]) for j in range(lo, hi)),
                    h.tiers[c["tier"][i]] if c["tier"][i] >= 0 else None,
                    h.coupons[c["coupon"][i]] if c["coupon"][i] >= 0 else None, c["points"][i], c["day"][i],
                    h.members[c["member"][i]] if c["member"][i] >= 0 else None, c["bonus"][i]))
    return out


def _median(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `runs` calls (the CPU figure shows the work on a busy shared machine)."""
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def measure(sales: int, sample: int = 100_000, runs: int = 3, progress: bool = False) -> dict:
    """Build a ledger of `sales` sales, then time the facts from zero, simulate's first read and the old way."""
    out: dict = {"sales": sales}
    with tempfile.TemporaryDirectory() as tmp, Kiosk.open(Path(tmp) / "data", kiosk_id="bench", store_id="b") as kiosk:
        t0 = time.perf_counter()
        bar = _bar(sales, "ledger") if progress else None
        build_ledger(kiosk, sales, progress=(lambda n: bar.update(n - bar.n)) if bar else (lambda n: None))
        if bar:
            bar.close()
        out["ledger_s"] = time.perf_counter() - t0
        follower = FactsFollower(kiosk.db, kiosk.clock)
        out["facts_s"], out["facts_cpu_s"] = _median(lambda: replay(kiosk.db, follower), 1)
        with kiosk.db.reading() as conn:
            out["lines"] = conn.execute("SELECT COUNT(*) FROM fact_lines").fetchone()[0]
        out["history_s"], out["history_cpu_s"] = _median(lambda: load_history(kiosk.db, kiosk.clock), runs)
        rules = kiosk.sales.pricing().rules
        candidate = replace(rules, redemption=replace(rules.redemption, max_share_percent=30))
        out["simulate_s"], out["simulate_cpu_s"] = _median(lambda: kiosk.whatif.simulate(candidate), runs)
        n = min(sample, sales)
        out["old_sample"] = n
        wall, cpu = _median(lambda: history_from_ledger(kiosk.db, n), 1)
        out["old_history_s"], out["old_history_cpu_s"] = wall * sales / n, cpu * sales / n
    for key in ("facts", "simulate", "history", "old_history"):
        out[f"{key}_per_1m_s"] = out[f"{key}_s"] / sales * 1e6
        out[f"{key}_cpu_per_1m_s"] = out[f"{key}_cpu_s"] / sales * 1e6
    return out


def _bar(total: int, what: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit=" sales", file=sys.stderr)


def main() -> None:
    """Run every figure in one process and print them with the goals and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000, help="sales the old way decodes (scaled to --sales)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    r = measure(args.sales, args.sample, args.runs, progress=sys.stderr.isatty())
    print(f"engine: {native.describe()}; {r['sales']:,} sales ({r['lines']:,} lines), ledger built in "
          f"{r['ledger_s']:.0f} s; medians of {args.runs} runs; wall (CPU) seconds")

    def row(label: str, key: str, goal: float | None = None) -> None:
        per = r[f"{key}_per_1m_s"]
        verdict = f"   goal <= {goal:.0f}  {'OK' if per <= goal else 'MISSED'}" if goal else ""
        print(f"  {label:<44} {r[f'{key}_s']:7.2f} ({r[f'{key}_cpu_s']:6.2f}) s  = {per:6.1f} "
              f"({r[f'{key}_cpu_per_1m_s']:5.1f}) s per 1M{verdict}")

    row("facts from zero (follower replay)", "facts", 60)
    row("simulate, first run reading the facts", "simulate", 10)
    row("  of which the history scan (load_history)", "history")
    row(f"old way: decode JSON ({r['old_sample']:,} sales, scaled)", "old_history")
    print(f"  ratios: old decode / facts scan {r['old_history_s'] / r['history_s']:.1f}x wall, "
          f"{r['old_history_cpu_s'] / r['history_cpu_s']:.1f}x CPU; facts build / old decode "
          f"{r['facts_s'] / r['old_history_s']:.2f}x")

if __name__ == "__main__":
    main()
