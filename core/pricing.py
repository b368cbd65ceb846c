"""The basket arithmetic over flat integer lists: the reference the Cython kernel in native/ must equal exactly.

Order of work, per basket (all integer fen, documented because refunds and the kernel depend on it):
1. gross = price x qty; tier price (pay percent) then category price, each rounded half-up per line;
2. the best threshold discount (满减) that the in-scope subtotal reaches, spread over its lines;
3. coupons one after another, each on its scope's current amount, spread over its lines;
4. visits: a line's covered units are paid by visit packs (amount x covered // qty);
5. points: P points worth V fen, V <= cap% of what is left, spread over the lines (points and fen alike);
6. earning: floor(sum(paid x rate) x multiplier) + spend bonus + extra, spread back over the lines.
Every spread is by largest remainder (ties to the earlier line), so lines always sum to the totals.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from core.errors import CouponRejected, InvalidQuantity, RedemptionRejected
from core.money import format_fen, percent_of

FIXED, PERCENT = 1, 2
SCOPE_ORDER, SCOPE_CATEGORY, SCOPE_SKU = 0, 1, 2
OK, COUPON_BELOW_MIN, ABOVE_CAP, BAD_QUANTITY = 0, 1, 2, 4  # statuses a batch reports instead of raising


@dataclass(frozen=True)
class PriceInput:
    """One basket as parallel lists (lines) plus the rule numbers that apply to it."""

    price: Sequence[int]
    qty: Sequence[int]
    cat: Sequence[int]  # category index into cat_pay
    sku: Sequence[int]  # SKU index, for SKU-scoped coupons
    rate: Sequence[int]  # hundredths of a point per yuan
    covered: Sequence[int]  # units paid by visits
    tier_pay: int = 100
    cat_pay: Sequence[int] = ()
    thresholds: Sequence[tuple[int, int, int, int]] = ()  # (min spend, off, repeat, category or -1)
    coupons: Sequence[tuple[int, int, int, int, int]] = ()  # (kind, value, min spend, scope, target)
    points: int = 0
    step_points: int = 1
    step_fen: int = 4
    cap_percent: int = 100
    multiplier: int = 100  # percent
    spend_bonus: Sequence[tuple[int, int]] = ()  # (min paid, points)
    extra_points: int = 0


@dataclass(frozen=True)
class PriceResult:
    """Per-line amounts; the totals are their sums."""

    gross: list[int]
    discount: list[int]  # tier and category
    threshold: list[int]
    coupon: list[int]
    visits: list[int]
    points_fen: list[int]
    points_used: list[int]
    paid: list[int]  # left for stored value, cash or external
    earned: list[int]
    coupon_amounts: list[int]


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights` by largest remainder; all-zero weights split evenly."""
    if not weights:
        return []
    w_sum = sum(weights)
    if w_sum == 0:
        weights, w_sum = [1] * len(weights), len(weights)
    shares = [total * w // w_sum for w in weights]
    left = total - sum(shares)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % w_sum), i))
        for i in order[:left]:
            shares[i] += 1
    return shares


def combine_multipliers(*percents: int) -> int:
    """Several percent multipliers as one percent, floored (150% x 200% = 300%)."""
    result = 100
    for p in percents:
        result = result * p // 100
    return result


def points_for(fen_rate: int, multiplier: int) -> int:
    """floor(fen_rate x multiplier / 10^6) without a product that could overflow 64 bits in the kernel."""
    whole, part = divmod(fen_rate, 1_000_000)
    return whole * multiplier + part * multiplier // 1_000_000


def _in_scope(p: PriceInput, scope: int, target: int) -> list[int]:
    if scope == SCOPE_ORDER:
        return list(range(len(p.price)))
    column = p.cat if scope == SCOPE_CATEGORY else p.sku
    return [i for i in range(len(p.price)) if column[i] == target]


def _take(cur: list[int], lines: list[int], amount: int) -> list[int]:
    """Spread `amount` over `lines` by their current amounts, lower them, and return the per-line shares."""
    out = [0] * len(cur)
    for i, share in zip(lines, spread(amount, [cur[i] for i in lines])):
        out[i] = share
        cur[i] -= share
    return out


def price_basket(p: PriceInput, coupon_codes: Sequence[str] = ()) -> PriceResult:
    """Price one basket; raises CouponRejected or RedemptionRejected with what to do about it."""
    n = len(p.price)
    if any(q < 1 for q in p.qty):
        raise InvalidQuantity("every line needs a quantity of at least 1")
    gross = [p.price[i] * p.qty[i] for i in range(n)]
    cur = [percent_of(percent_of(gross[i], p.tier_pay), p.cat_pay[p.cat[i]]) for i in range(n)]
    discount = [gross[i] - cur[i] for i in range(n)]
    best, best_lines = 0, []
    for low, off, repeat, cat in p.thresholds:
        lines = _in_scope(p, SCOPE_ORDER if cat < 0 else SCOPE_CATEGORY, cat)
        base = sum(cur[i] for i in lines)
        if base >= low:
            amount = min(off * (base // low if repeat else 1), base)
            if amount > best:
                best, best_lines = amount, lines
    threshold = _take(cur, best_lines, best)
    coupon = [0] * n
    amounts = []
    for k, (kind, value, low, scope, target) in enumerate(p.coupons):
        lines = _in_scope(p, scope, target)
        base = sum(cur[i] for i in lines)
        if base < low:
            code = coupon_codes[k] if k < len(coupon_codes) else f"#{k + 1}"
            raise CouponRejected(
                f"coupon {code} needs {format_fen(low)} of eligible items; this basket has {format_fen(base)}"
            )
        amount = percent_of(base, value) if kind == PERCENT else min(value, base)
        amounts.append(amount)
        coupon = [a + b for a, b in zip(coupon, _take(cur, lines, amount))]
    visits = [cur[i] * p.covered[i] // p.qty[i] for i in range(n)]
    due = [cur[i] - visits[i] for i in range(n)]
    value = p.points // p.step_points * p.step_fen
    cap = sum(due) * p.cap_percent // 100
    if value > cap:
        raise RedemptionRejected(
            f"{p.points} points are worth {format_fen(value)}; at most {format_fen(cap)} of this order may be paid with points"
        )
    points_fen = spread(value, due) if value else [0] * n
    points_used = spread(p.points, due) if p.points else [0] * n
    paid = [due[i] - points_fen[i] for i in range(n)]
    weights = [paid[i] * p.rate[i] for i in range(n)]
    bonus = max((pts for low, pts in p.spend_bonus if sum(paid) >= low), default=0)
    earned_total = points_for(sum(weights), p.multiplier) + bonus + p.extra_points
    return PriceResult(gross, discount, threshold, coupon, visits, points_fen, points_used, paid,
                       spread(earned_total, weights), amounts)
