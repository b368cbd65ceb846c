"""The Cython kernels equal the pure reference exactly, on random baskets and rulebooks and at the edges."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import native
from core.batch import BONUS_DUE, IN_BIRTHDAY, Batch, compile_rules, price_batch
from core.errors import InvalidQuantity, KioskError
from core.pricing import PriceInput, price_basket
from core.quote import quote
from tests.pricing.conftest import CATALOG, RULES
from tests.pricing.strategies import DAYS, SKUS, baskets, catalogs, coupon_lists, members, rulebooks, tenders

pytestmark = pytest.mark.skipif(not native.AVAILABLE, reason=f"native kernels not in use: {native.REASON}")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(pricer, *args):
    try:
        return quote(*args, pricer=pricer)
    except KioskError as exc:
        return type(exc), str(exc)


@SETTINGS
@given(st.data(), rulebooks(), catalogs(), baskets, members(), coupon_lists, DAYS)
def test_native_quote_equals_reference(data, rules, catalog, basket, m, coupons, day):
    args = (basket, m, rules, catalog, coupons, data.draw(tenders(rules, m)), dt.datetime.combine(day, dt.time(9)))
    assert _outcome(native.price_basket, *args) == _outcome(price_basket, *args)


def test_very_large_order_and_one_fen_lines_agree():
    n = 1000
    big = PriceInput(
        price=[100_000_000 if i % 3 else i % 2 for i in range(n)], qty=[999] * n, cat=[i % 3 for i in range(n)],
        sku=list(range(n)), rate=[10_000] * n, covered=[i % 2 for i in range(n)], tier_pay=99, cat_pay=[99, 100, 1],
        thresholds=[(1000, 1, 1, -1)], coupons=[(2, 33, 0, 0, 0)], points=10**7, step_points=1, step_fen=4,
        cap_percent=100, multiplier=100_000, spend_bonus=[(1, 5)], extra_points=7)
    assert native.price_basket(big) == price_basket(big)
    tiny = PriceInput(price=[0, 1, 1], qty=[1, 1, 999], cat=[0, 0, 0], sku=[0, 1, 2], rate=[100] * 3,
                      covered=[0] * 3, cat_pay=[50], points=4, step_points=1, step_fen=1)
    assert native.price_basket(tiny) == price_basket(tiny)
    for pricer in (native.price_basket, price_basket):
        with pytest.raises(InvalidQuantity):
            pricer(replace(tiny, qty=[1, 0, 1]))


@st.composite
def batches(draw, compiled):
    n_sku, n_coupon = len(compiled.skus), len(compiled.coupons)
    sizes = draw(st.lists(st.integers(1, 60), min_size=1, max_size=20))
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    total, nb = offsets[-1], len(sizes)
    ints = lambda lo, hi, k: draw(st.lists(st.integers(lo, hi), min_size=k, max_size=k))  # noqa: E731
    days = draw(st.lists(DAYS, min_size=nb, max_size=nb))
    return Batch(
        offsets=offsets, sku=ints(0, n_sku - 1, total), qty=ints(0, 999, total), tier=ints(-1, 1, nb),
        coupon=ints(-1, n_coupon - 1, nb), points=[p * compiled.step_points for p in ints(0, 200, nb)],
        day=[d.toordinal() for d in days], weekday=[d.isoweekday() for d in days], dom=[d.day for d in days],
        flags=ints(0, IN_BIRTHDAY | BONUS_DUE, nb))


@SETTINGS
@given(st.data(), rulebooks(), catalogs(), coupon_lists)
def test_native_batch_equals_reference(data, rules, catalog, coupons):
    rules = type(rules)(**{**rules.__dict__, "coupons": {c.code: c for c in coupons}})
    compiled = compile_rules(rules, catalog)
    batch = data.draw(batches(compiled))
    ours, ref = native.price_batch(compiled, batch), price_batch(compiled, batch)
    for field in ("net", "discount", "points_fen", "earned", "status"):
        assert list(getattr(ours, field)) == getattr(ref, field), field
    assert len(SKUS) + 1 == len(compiled.skus)  # the punch card is priced as a product too


def test_batch_indices_outside_the_tables_are_refused_before_the_unchecked_loop():
    compiled = compile_rules(RULES, CATALOG)
    good = Batch(offsets=[0, 1], sku=[0], qty=[1], tier=[0], coupon=[-1], points=[0], day=[740_000], weekday=[1],
                 dom=[1], flags=[0])
    assert list(native.price_batch(compiled, good).status) == [0]
    for bad in (replace(good, sku=[len(compiled.skus)]), replace(good, tier=[9]), replace(good, coupon=[99]),
                replace(good, offsets=[0, 2]), replace(good, offsets=[])):
        with pytest.raises(IndexError):
            native.price_batch(compiled, bad)


def test_skip_native_env_falls_back_to_the_reference_and_says_so():
    code = "import native; print(native.ENGINE, native.describe())"
    env = {**os.environ, "MEMBERKIOSK_SKIP_NATIVE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.startswith("reference reference (pure Python): MEMBERKIOSK_SKIP_NATIVE=1")
    assert native.ENGINE == "native" and native.price_batch is not price_batch


def test_require_native_env_fails_the_import_when_the_kernels_are_missing():
    hide_kernels = "import sys; sys.modules['native.kernels'] = None; import native; print(native.ENGINE)"
    env = {**os.environ, "MEMBERKIOSK_REQUIRE_NATIVE": "1"}
    env.pop("MEMBERKIOSK_SKIP_NATIVE", None)
    required = subprocess.run([sys.executable, "-c", hide_kernels], capture_output=True, text=True, env=env)
    assert required.returncode != 0 and "MEMBERKIOSK_REQUIRE_NATIVE=1 but the Cython kernels did not load" in required.stderr
    env.pop("MEMBERKIOSK_REQUIRE_NATIVE")
    fallback = subprocess.run([sys.executable, "-c", hide_kernels], capture_output=True, text=True, env=env, check=True)
    assert fallback.stdout.strip() == "reference"
