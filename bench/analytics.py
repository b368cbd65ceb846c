"""Analytics benchmark: RFM + classes + churn + at-risk for a whole chain, Cython kernels beside the pure reference.

  nice -n 10 .venv/bin/python bench/analytics.py [--members 1000000] [--sales 10000000] [--runs 3] \
      [--reference-scale 10] [--facts-sales 1000000]

Synthetic seeded columns (visits skewed towards regulars, two years of days, amounts in fen) as one facts scan would
give them. Goals of issue 12: the native pass over 1M members and 10M sales in <= 3 s, peak RSS <= 2 GB. The
reference runs on a 1/scale sample of members and sales (minutes on all of it), its time scaled up, and the kernels
are checked equal to it on that sample. Then part A's bench/facts.py `measure(sales)` (facts build from a ledger of
that many sales <= 60 s, simulate's first run <= 10 s) unless --facts-sales 0.
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import resource
import statistics
import sys
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import core.analytics as reference  # noqa: E402
import native  # noqa: E402
from core.analytics import AnalyticsSettings  # noqa: E402

ASOF = 739_950  # 2026-11-30 as a date ordinal
AMOUNTS = [290, 990, 1_500, 2_380, 4_990, 8_800, 12_000, 25_600, 49_900, 128_000, 0, -1_500]  # fen; refunds net out
SETTINGS = AnalyticsSettings()


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def columns(members: int, sales: int, seed: int) -> tuple[array, array, array]:
    """Seeded per-visit columns: member u² (a few regulars, a long tail), day within two years, amount from a menu."""
    rnd = random.Random(seed)
    u = rnd.random
    member = array("q", (int(members * u() * u()) for _ in range(sales)))
    day = array("q", (ASOF - int(730 * u() * u()) for _ in range(sales)))
    amount = array("q", rnd.choices(AMOUNTS, k=sales))
    return member, day, amount


def pipeline(engine, member, day, amount, members: int) -> tuple:
    """One whole analytics pass as a report would run it; returns every result so engines can be compared."""
    result = engine.rfm(member, day, amount, members, ASOF, SETTINGS.window_days)
    kinds = engine.classes(result.frequency, result.monetary, SETTINGS.classes)
    states = engine.churn_states(result.last_day, ASOF, SETTINGS.churn)
    risk = engine.at_risk(member, day, members, ASOF, SETTINGS.at_risk_percentile, SETTINGS.at_risk_min_visits)
    return result, kinds, states, risk


def timed(fn, runs: int) -> tuple[float, float, object]:
    """Median wall and CPU time of `runs` calls (seconds; CPU shows the cost on a busy shared box) and the last value."""
    walls, cpus, value = [], [], None
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        value = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), value


def bench_native(member, day, amount, members: int, runs: int) -> None:
    parts = {
        "rfm (aggregate, 3 quintiles, segments)": lambda: native.rfm(member, day, amount, members, ASOF, SETTINGS.window_days),
        "at-risk (own gap percentile)": lambda: native.at_risk(member, day, members, ASOF),
    }
    for name, fn in parts.items():
        wall, cpu, _ = timed(fn, runs)
        print(f"  {name:44s} {wall:7.3f} s wall {cpu:7.3f} s CPU")
    wall, cpu, (result, kinds, states, risk) = timed(lambda: pipeline(native, member, day, amount, members), runs)
    print(f"  {'whole pass (rfm + classes + churn + at-risk)':44s} {wall:7.3f} s wall {cpu:7.3f} s CPU   "
          f"goal <= 3 s: {'met' if wall <= 3 else 'met in CPU time' if cpu <= 3 else 'MISSED'}")
    print(f"  segments {result.counts()}, at risk {len(risk)}, peak RSS so far {peak_rss_mb():.0f} MB"
          f"   goal <= 2048 MB: {'met' if peak_rss_mb() <= 2048 else 'MISSED'}")


def bench_reference(member, day, amount, members: int, scale: int, runs: int) -> None:
    n, keep = members // scale, len(member) // scale
    sample = array("q", (m // scale for m in member[:keep]))  # members 0..n-1, the same skew
    d, a = day[:keep], amount[:keep]
    _, t_ref, ref = timed(lambda: pipeline(reference, sample, d, a, n), 1)
    _, t_nat, nat = timed(lambda: pipeline(native, sample, d, a, n), runs)
    print(f"  sample 1/{scale}: {n:,} members, {keep:,} sales: reference {t_ref:.2f} s, native {t_nat:.3f} s CPU "
          f"({t_ref / t_nat:.0f}x); results equal: {ref == nat}")
    print(f"  reference scaled to the whole chain: ~{t_ref * scale:.0f} s CPU")


def bench_facts(sales: int) -> None:
    path = Path(__file__).with_name("facts.py")
    if not path.exists():
        print(f"  {path.name} is not there yet (part A): skipped")
        return
    spec = importlib.util.spec_from_file_location("bench_facts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    r = module.measure(sales)
    print(f"  ledger of {r['sales']:,} sales built in {r['ledger_s']:.0f} s")
    for what, key, goal in (("facts from zero", "facts", 60), ("simulate, first run", "simulate", 10)):
        per = r[f"{key}_per_1m_s"]
        print(f"  {what:44s} {r[f'{key}_s']:7.2f} s = {per:6.1f} s per 1M   goal <= {goal} s: {'met' if per <= goal else 'MISSED'}")


def main() -> None:
    """Every figure in one process: generate once, time the kernels, then the reference sample, then the facts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sales", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference-scale", type=int, default=10, help="reference on 1/N of members and sales; 0 skips")
    parser.add_argument("--facts-sales", type=int, default=1_000_000, help="ledger size for bench/facts.py; 0 skips")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if not native.AVAILABLE:
        sys.exit(f"native kernels not built ({native.REASON}): pip install -e . --no-build-isolation")
    t0 = time.perf_counter()
    member, day, amount = columns(args.members, args.sales, args.seed)
    print(f"engine: {native.describe()}; {args.members:,} members, {args.sales:,} sales generated in "
          f"{time.perf_counter() - t0:.0f} s (seed {args.seed}); median of {args.runs} runs\n")
    print("native")
    bench_native(member, day, amount, args.members, args.runs)
    if args.reference_scale:
        print("\nreference (pure Python)")
        bench_reference(member, day, amount, args.members, args.reference_scale, args.runs)
    if args.facts_sales:
        print(f"\nfacts (bench/facts.py, {args.facts_sales:,} sales)")
        bench_facts(args.facts_sales)
    print(f"\npeak RSS of the whole run {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
