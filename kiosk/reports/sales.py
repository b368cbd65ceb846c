"""Sales by day, hour, product, category, tier, tender and store, from fact_sales and fact_lines (refunds net out:
their rows carry negative amounts, on the day of the refund)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from kiosk.reports.model import FEN, PERCENT, ChartSpec, Column, Inputs, Report, ReportError, share, totals_of
from kiosk.reports.sql import Facts

BY = ("day", "hour", "product", "category", "tier", "tender", "store")
GUEST = "非会员 guest"
NO_CATEGORY = "未分类 none"

COUNTS = (Column("sales", "单数 Sales"), Column("refunds", "退款 Refunds"), Column("items", "件数 Items"))
AMOUNTS = (Column("gross", "原价 Gross", FEN), Column("discount", "优惠 Discounts", FEN), Column("net", "实收 Net", FEN))
LINE_AMOUNTS = (Column("qty", "数量 Qty"), *AMOUNTS)
# the ticket columns over fact_sales s: discounts include coupons; net is what the tenders paid
TICKETS = ("SUM(CASE WHEN s.kind = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN s.kind = -1 THEN 1 ELSE 0 END), "
           "SUM(s.items), SUM(s.gross), SUM(s.discount + s.coupon), SUM(s.net)")
TENDERS = (("cash", "现金 cash"), ("stored_value", "储值 stored value"), ("points_fen", "积分抵扣 points"),
           ("visits_fen", "次卡 punch card"), ("external", "其他支付 external"))
TITLES = {"day": "按日销售 Sales by day", "hour": "按时段销售 Sales by hour", "product": "商品销售 Sales by product",
          "category": "品类销售 Sales by category", "tier": "会员等级销售 Sales by tier",
          "tender": "支付方式 Sales by tender", "store": "门店销售 Sales by store"}


def sales(facts: Facts, inputs: Inputs, by: str = "day") -> Report:
    """The period's sales grouped `by` one of BY."""
    if by not in BY:
        raise ReportError(f"sales by {by!r}: choose one of {', '.join(BY)}")
    return {"day": _by_day, "hour": _by_hour, "product": _by_product, "category": _by_category,
            "tier": _by_tier, "tender": _by_tender, "store": _by_store}[by](facts, inputs)


def _tickets(facts: Facts, key: str, join: str = "") -> dict[Any, tuple[int, ...]]:
    where, params = facts.where("s")
    rows = facts.rows(f"SELECT {key}, {TICKETS} FROM fact_sales s {join} WHERE {where} GROUP BY {key}", params)
    return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in rows}


def _report(by: str, keys: tuple[Column, ...], rows: list[tuple[Any, ...]], chart: str, facts: Facts,
            amounts: tuple[Column, ...] = (*COUNTS, *AMOUNTS)) -> Report:
    """Rows of key columns then amounts; the amounts add up to the totals, the chart plots net by the last key."""
    columns = (*keys, *amounts)
    return Report("sales", TITLES[by], columns, rows, totals_of(columns, rows, [c.key for c in amounts]),
                  ChartSpec(chart, keys[-1].key, ("net",)), facts.period)


def _by_day(facts: Facts, _inputs: Inputs) -> Report:
    found = _tickets(facts, "s.day")
    zero = (0,) * 6
    rows = [(dt.date.fromordinal(d), *found.get(d, zero)) for d in range(facts.period.from_day, facts.period.to_day + 1)]
    return _report("day", (Column("day", "日期 Day"),), rows, "line", facts)


def _by_hour(facts: Facts, _inputs: Inputs) -> Report:
    found = _tickets(facts, "s.hour")
    rows = [(h, *found.get(h, (0,) * 6)) for h in range(24)]
    return _report("hour", (Column("hour", "时 Hour"),), rows, "line", facts)


def _decoded(facts: Facts, kind: str, column: str, label: str, by: str, missing: str) -> Report:
    found = _tickets(facts, "d.value", f"LEFT JOIN fact_dict d ON d.kind = '{kind}' AND d.id = s.{column}")
    rows = sorted(((k if k is not None else missing, *v) for k, v in found.items()), key=lambda r: (-r[-1], r[0]))
    return _report(by, (Column(by, label),), rows, "bar", facts)


def _by_tier(facts: Facts, _inputs: Inputs) -> Report:
    return _decoded(facts, "tier", "tier", "等级 Tier", "tier", GUEST)


def _by_store(facts: Facts, _inputs: Inputs) -> Report:
    return _decoded(facts, "store", "store", "门店 Store", "store", "?")


def _by_tender(facts: Facts, _inputs: Inputs) -> Report:
    where, params = facts.where("s")
    sums = facts.rows(f"SELECT {', '.join(f'SUM(s.{c})' for c, _ in TENDERS)} FROM fact_sales s WHERE {where}",
                      params)[0]
    amounts = [int(v or 0) for v in sums]
    whole = sum(amounts)
    rows = [(label, amount, share(amount, whole)) for (_, label), amount in zip(TENDERS, amounts)]
    columns = (Column("tender", "支付方式 Tender"), Column("net", "金额 Amount", FEN), Column("share", "占比 Share", PERCENT))
    return Report("sales", TITLES["tender"], columns, rows, {"net": whole}, ChartSpec("bar", "tender", ("net",)),
                  facts.period)


def product_lines(facts: Facts) -> dict[str, tuple[int, int, int, int]]:
    """{sku: (qty, gross, discounts with the line's coupon share, net)} of the period's lines, refunds netted out."""
    where, params = facts.where("s")
    rows = facts.rows(
        "SELECT d.value, SUM(l.qty), SUM(l.gross), SUM(l.discount + l.coupon), SUM(l.net) FROM fact_lines l "
        "JOIN fact_sales s ON s.kiosk = l.kiosk AND s.seq = l.seq "
        f"JOIN fact_dict d ON d.kind = 'sku' AND d.id = l.sku WHERE {where} GROUP BY d.value", params)
    return {sku: tuple(int(v or 0) for v in rest) for sku, *rest in rows}  # type: ignore[misc]


def _by_product(facts: Facts, inputs: Inputs) -> Report:
    lines = product_lines(facts)
    names = _names(inputs)
    rows = sorted(((sku, names.get(sku, sku), *v) for sku, v in lines.items()), key=lambda r: (-r[-1], r[0]))
    return _report("product", (Column("sku", "商品编码 SKU"), Column("name", "品名 Name")), rows, "bar", facts,
                   LINE_AMOUNTS)


def _by_category(facts: Facts, inputs: Inputs) -> Report:
    categories = _categories(inputs)
    totals: dict[str, list[int]] = {}
    for sku, values in product_lines(facts).items():
        into = totals.setdefault(categories.get(sku) or NO_CATEGORY, [0, 0, 0, 0])
        for i, v in enumerate(values):
            into[i] += v
    rows = sorted(((c, *v) for c, v in totals.items()), key=lambda r: (-r[-1], r[0]))
    return _report("category", (Column("category", "品类 Category"),), rows, "bar", facts, LINE_AMOUNTS)


def _names(inputs: Inputs) -> dict[str, str]:
    names = {sku: p.name for sku, p in inputs.products.items()}
    if inputs.rules is not None:  # punch cards are sold under their pack id, which the catalog does not list
        names.update({pack.id: pack.name for pack in inputs.rules.punch_cards.values()})
    return names


def _categories(inputs: Inputs) -> dict[str, str]:
    found = {sku: p.category for sku, p in inputs.products.items()}
    if inputs.rules is not None:
        found.update({pack.id: "计次卡 punch card" for pack in inputs.rules.punch_cards.values()})
    return found
