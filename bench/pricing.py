"""Pricing benchmark: the Cython kernels against the pure reference, in the same run, every rule kind active.

  .venv/bin/python bench/pricing.py [--baskets 100000] [--sales 1000000] [--runs 3]

Prints medians (2-core boxes are noisy) and the ratios against the goals of issue 3: batch pricing of random
baskets of 1-60 lines (>= 20x faster than the reference), one interactive quote of a 30-line basket (<= 50 µs),
and the what-if re-pricing of recorded sales (<= 5 s for 1M), also end to end from a real store's ledger. The reference is timed on a slice of the same
baskets (it would take minutes on all of them) and compared basket by basket with the kernel on that slice.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from array import array
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import native  # noqa: E402
from core.batch import BONUS_DUE, IN_BIRTHDAY, Batch, compile_rules  # noqa: E402
from core.batch import price_batch as reference_batch  # noqa: E402
from core.catalog import Product  # noqa: E402
from core.events import SYSTEM  # noqa: E402
from core.pricing import price_basket as reference_basket  # noqa: E402
from core.quote import preview, quote  # noqa: E402
from core.quote_input import BasketLine, MemberState, TenderRequest  # noqa: E402
from core.rules_toml import parse_rules  # noqa: E402
from kiosk.app import Kiosk  # noqa: E402
from kiosk.demo.pricing import seed_pricing  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "kiosk" / "demo" / "rules.toml"
WEDNESDAY = dt.datetime(2026, 11, 25, 10, 0)  # member day, fruit promotion running


def catalog(n: int, rng: random.Random) -> dict[str, Product]:
    """n products over the demo categories, a few with their own points rate."""
    cats = ["drinks", "dairy", "fruit", "snacks", "tobacco", "wine", "service"]
    return {
        f"S{i}": Product(f"S{i}", f"item {i}", rng.choice([1, 99, 350, 1280, 9999, 25000, rng.randint(0, 50000)]),
                         cats[i % len(cats)], points_rate=200 if i % 17 == 0 else None)
        for i in range(n)
    }


def make_batch(n: int, n_skus: int, n_coupons: int, step: int, max_lines: int, seed: int) -> Batch:
    """n random baskets of 1..max_lines lines; tiers, coupons, points, days and birthdays all vary."""
    rng = random.Random(seed)
    sizes = [rng.randint(1, max_lines) for _ in range(n)]
    offsets = array("q", [0])
    for s in sizes:
        offsets.append(offsets[-1] + s)
    total = offsets[-1]
    # bytes.translate draws millions of line values without a Python-level loop per line
    sku = array("q", array("B", rng.randbytes(total).translate(bytes(i % n_skus for i in range(256)))))
    qty = array("q", array("B", rng.randbytes(total).translate(bytes(1 + (i % 16 == 0) * (i % 5) for i in range(256)))))
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(730)) for _ in range(n)]
    return Batch(
        offsets=offsets, sku=sku, qty=qty,
        tier=array("q", (rng.randrange(-1, 3) for _ in range(n))),  # guests and the three lower tiers
        coupon=array("q", (rng.randrange(-1, n_coupons) if rng.random() < 0.3 else -1 for _ in range(n))),
        points=array("q", ((rng.randrange(0, 20) * step if rng.random() < 0.2 else 0) for _ in range(n))),
        day=array("q", (d.toordinal() for d in days)), weekday=array("q", (d.isoweekday() for d in days)),
        dom=array("q", (d.day for d in days)), flags=array("q", (rng.choice([0, 0, 0, IN_BIRTHDAY, IN_BIRTHDAY | BONUS_DUE]) for _ in range(n))),
    )


def head(b: Batch, n: int) -> Batch:
    """The first n baskets of a batch."""
    end = b.offsets[n]
    return Batch(b.offsets[: n + 1], b.sku[:end], b.qty[:end], *(getattr(b, f)[:n] for f in
                 ("tier", "coupon", "points", "day", "weekday", "dom", "flags")))


def median_time(fn, runs: int) -> float:
    """Median wall time of `runs` calls, in seconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_batch(compiled, n: int, ref_n: int, runs: int) -> None:
    """Bulk pricing: the kernel on n baskets, the reference on the first ref_n of them (checked equal)."""
    batch = make_batch(n, len(compiled.skus), len(compiled.coupons), compiled.step_points, 60, seed=1)
    sample = head(batch, ref_n)
    ours = native.price_batch(compiled, sample)
    ref = reference_batch(compiled, sample)
    assert all(list(getattr(ours, f)) == getattr(ref, f) for f in ("net", "discount", "earned", "status")), "mismatch"
    t_native = median_time(lambda: native.price_batch(compiled, batch), runs)
    t_ref = median_time(lambda: reference_batch(compiled, sample), runs)
    us_native, us_ref = t_native / n * 1e6, t_ref / ref_n * 1e6
    lines = batch.offsets[-1]
    print(f"batch pricing, {n:,} baskets of 1-60 lines ({lines:,} lines)")
    print(f"  native     {t_native * 1e3:9.1f} ms  {us_native:8.2f} µs/basket")
    print(f"  reference  {us_ref * n / 1e6 * 1e3:9.1f} ms  {us_ref:8.2f} µs/basket  (timed on {ref_n:,} of them)")
    print(f"  speed-up   {us_ref / us_native:9.1f}x   goal >= 20x  {'OK' if us_ref / us_native >= 20 else 'MISSED'}")


def repeat(fn, args, pricer, loops: int) -> None:
    """Call fn `loops` times, keeping no result alive (a kiosk drops each scan's preview for the next)."""
    for _ in range(loops):
        fn(*args, pricer=pricer)


def bench_quote(rules, cat, runs: int) -> None:
    """One 30-line basket: the per-scan preview and the full checkout quote, on both engines."""
    rng = random.Random(2)
    skus = list(cat)
    basket = [BasketLine(rng.choice(skus), rng.choice([1, 1, 2, 3])) for _ in range(30)]
    member = MemberState("M1", "金卡", points=50_000, stored_value=10_000, birthday=dt.date(1990, 11, 3))
    tender = TenderRequest(points=1000, stored_value=True)
    args = (basket, member, rules, cat, [rules.coupons["WELCOME10"]], tender, WEDNESDAY)
    loops = 2000
    us = {}
    for kind, fn in (("scan", preview), ("checkout", quote)):
        for name, pricer in (("native", native.price_basket), ("reference", reference_basket)):
            us[kind, name] = median_time(lambda: repeat(fn, args, pricer, loops), runs) / loops * 1e6
        assert fn(*args, pricer=native.price_basket) == fn(*args, pricer=reference_basket)
    print("interactive quote of a 30-line basket (every rule kind, coupon, points, stored value)")
    print(f"  on each scan (preview: checks, discounts, points)  native {us['scan', 'native']:7.1f} µs"
          f"   reference {us['scan', 'reference']:7.1f} µs   goal <= 50 µs"
          f"  {'OK' if us['scan', 'native'] <= 50 else 'MISSED'}")
    print(f"  at checkout (quote: + tender split, ledger drafts)  native {us['checkout', 'native']:7.1f} µs"
          f"   reference {us['checkout', 'reference']:7.1f} µs")


def bench_whatif(rules, cat, n: int, runs: int) -> None:
    """Re-pricing n recorded sales (as arrays) under a candidate rulebook with the kernel."""
    compiled = compile_rules(rules, cat)
    candidate = replace(rules, redemption=replace(rules.redemption, max_share_percent=30),
                        earning=replace(rules.earning, centi_per_yuan=200))
    t0 = time.perf_counter()
    history = make_batch(n, len(compiled.skus), len(compiled.coupons), compiled.step_points, 60, seed=3)
    made = time.perf_counter() - t0
    lines = history.offsets[-1]

    def whatif() -> tuple[int, int]:
        new = native.price_batch(compile_rules(candidate, cat), history)
        return sum(new.discount), sum(new.earned)

    base = native.price_batch(compiled, history)
    t = median_time(whatif, runs)
    disc, earned = whatif()
    print(f"what-if re-pricing of {n:,} recorded sales ({lines:,} lines; generated in {made:.1f} s)")
    print(f"  native     {t:8.2f} s   goal <= 5 s  {'OK' if t <= 5 else 'MISSED'}")
    print(f"  discount cost {sum(base.discount) / 100:,.2f} -> {disc / 100:,.2f} yuan;"
          f" points earned {sum(base.earned):,} -> {earned:,}")


def bench_ledger_whatif(rules, n: int, runs: int) -> None:
    """`memberkiosk simulate` end to end on a real store: n sales read from the ledger, then from the history cache."""
    with tempfile.TemporaryDirectory() as tmp, Kiosk.open(Path(tmp) / "data", kiosk_id="bench", store_id="b") as kiosk:
        seed_pricing(kiosk)
        # stock is not counted here, so any number of sales can be recorded; WINE-82 is for VIP members only
        products = kiosk.sales.docs.current()[1]
        uncounted = {sku: replace(p, stock=None) for sku, p in products.items() if sku != "WINE-82"}
        rng, skus = random.Random(4), list(uncounted)
        drafts = []
        for i in range(n):
            basket = [BasketLine(rng.choice(skus), rng.randint(1, 3)) for _ in range(rng.randint(1, 60))]
            drafts += quote(basket, None, rules, uncounted, [], TenderRequest(), WEDNESDAY, pricer=native.price_basket).drafts
            if len(drafts) >= 2000 or i == n - 1:
                kiosk.gateway.commit(SYSTEM, drafts)
                drafts = []
        candidate = replace(rules, earning=replace(rules.earning, centi_per_yuan=200))
        t0 = time.perf_counter()
        kiosk.whatif.simulate(candidate)
        cold = time.perf_counter() - t0
        warm = median_time(lambda: kiosk.whatif.simulate(candidate), runs)
    print(f"what-if from the store's ledger, {n:,} sales, current and candidate rules (memberkiosk simulate)")
    print(f"  first run (decodes the ledger, builds the cache)  {cold:6.2f} s  = {cold / n * 1e6:5.0f} µs/sale, once")
    print(f"  later runs (history cache, new sales appended)     {warm:6.2f} s  -> {warm / n * 1e6:.1f} s per 1M sales")


def main() -> None:
    """Run every figure in one process, so the ratios compare like with like."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baskets", type=int, default=100_000)
    parser.add_argument("--reference-baskets", type=int, default=3_000)
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--ledger-sales", type=int, default=20_000, help="sales in the end-to-end what-if store")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not native.AVAILABLE:
        sys.exit(f"native kernels not built ({native.REASON}): pip install -e . --no-build-isolation")
    rules = parse_rules(DEMO.read_text(encoding="utf-8"))
    cat = catalog(200, random.Random(0))
    compiled = compile_rules(rules, cat)
    print(f"engine: {native.describe()}; rules: {DEMO.name} (every rule kind); median of {args.runs} runs\n")
    bench_batch(compiled, args.baskets, args.reference_baskets, args.runs)
    print()
    bench_quote(rules, cat, args.runs)
    print()
    bench_whatif(rules, cat, args.sales, args.runs)
    print()
    bench_ledger_whatif(rules, args.ledger_sales, args.runs)


if __name__ == "__main__":
    main()
