"""What-if: re-price the recorded sales history under candidate rules and compare discount cost and points liability."""
from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import native
from core.batch import BONUS_DUE, IN_BIRTHDAY, Batch, CompiledRules, compile_rules
from core.catalog import Product
from core.rules import Rules
from kiosk.services import pricing_data as data
from kiosk.store import members as member_rows


@dataclass(frozen=True)
class Outcome:
    """One rulebook over the whole history: discounts given, points earned and what they are worth."""

    discount: int  # fen
    points: int
    liability: int  # fen the points are worth at the rulebook's redemption rate
    refused: int  # sales the rulebook would refuse (coupon minimum, redemption cap, reserved product)


@dataclass(frozen=True)
class WhatIf:
    """The history priced under the current and the candidate rulebook."""

    sales: int
    current: Outcome
    candidate: Outcome
    engine: str


def _history_catalog(catalog: Mapping[str, Product], sales: list[tuple[str | None, dict]]) -> dict[str, Product]:
    """The catalog plus products sold once and since removed, at the price they were sold for."""
    products = dict(catalog)
    for _, sale in sales:
        for line in sale["lines"]:
            if line["sku"] not in products:
                products[line["sku"]] = Product(line["sku"], line["name"], line["price"], "")
    return products


def _batch(c: CompiledRules, rules: Rules, sales: list[tuple[str | None, dict]], birthdays: Mapping[str, dt.date]) -> Batch:
    sku_ix = {s: i for i, s in enumerate(c.skus)}
    coupon_ix = {code: i for i, code in enumerate(c.coupon_codes)}
    b: dict[str, array] = {k: array("q") for k in ("sku", "qty", "tier", "coupon", "points", "day", "weekday", "dom", "flags")}
    offsets = array("q", [0])
    for member_id, sale in sales:
        for line in sale["lines"]:
            b["sku"].append(sku_ix.get(line["sku"], 0))
            b["qty"].append(line["qty"])
        offsets.append(len(b["sku"]))
        day = dt.date.fromisoformat(sale["day"])
        tier = rules.tiers.by_name(sale["tier"]).rank if member_id and sale.get("tier") else -1
        birthday = rules.earning.in_birthday_period(birthdays.get(member_id or ""), day)
        b["tier"].append(tier)
        b["coupon"].append(coupon_ix.get(sale["coupons"][0], -1) if sale["coupons"] else -1)
        b["points"].append(sum(line["points_used"] for line in sale["lines"]) // c.step_points * c.step_points)
        b["day"].append(day.toordinal())
        b["weekday"].append(day.isoweekday())
        b["dom"].append(day.day)
        b["flags"].append((IN_BIRTHDAY if birthday else 0) | (BONUS_DUE if sale.get("birthday_bonus") else 0))
    return Batch(offsets=offsets, **b)


def _outcome(rules: Rules, catalog: dict[str, Product], sales: list, birthdays: Mapping[str, dt.date]) -> Outcome:
    compiled = compile_rules(rules, catalog)
    res = native.price_batch(compiled, _batch(compiled, rules, sales, birthdays))
    points = sum(res.earned)
    return Outcome(sum(res.discount), points, points * rules.redemption.value // rules.redemption.points,
                   sum(1 for s in res.status if s))


def simulate(kiosk: Any, candidate: Rules) -> WhatIf:
    """Price every recorded sale under the loaded rules and under `candidate`, with the same engine and inputs."""
    rules = data.load_rules(kiosk.docs)
    with kiosk.db.reading() as conn:
        catalog = data.load_catalog(kiosk.docs, conn)
        sales = list(data.all_sales(conn))
        birthdays = _birthdays(conn, (m for m, _ in sales if m))
    catalog = _history_catalog(catalog, sales)
    return WhatIf(len(sales), _outcome(rules, catalog, sales, birthdays), _outcome(candidate, catalog, sales, birthdays),
                  native.ENGINE)


def _birthdays(conn: Any, member_ids: Iterable[str]) -> dict[str, dt.date]:
    out = {}
    for member_id in set(member_ids):
        member = member_rows.get(conn, member_id)
        if member is not None and member.birthday is not None:
            out[member_id] = member.birthday
    return out
