"""Stock levels against each product's low-stock threshold (the catalog's low_stock), with what sold in the period."""
from __future__ import annotations

from kiosk.reports.model import ChartSpec, Column, Inputs, Report
from kiosk.reports.sales import product_lines
from kiosk.reports.sql import Facts

LOW, OK = "补货 low", "正常 ok"


def stock(facts: Facts, inputs: Inputs) -> Report:
    """Every counted product, the ones at or below their threshold first; sold is the period's net quantity."""
    sold = product_lines(facts)
    rows = []
    for sku, p in inputs.products.items():
        if p.stock is None:
            continue
        low = p.low_stock is not None and p.stock <= p.low_stock
        rows.append((sku, p.name, p.stock, p.low_stock, sold.get(sku, (0,))[0], LOW if low else OK))
    rows.sort(key=lambda r: (r[5] != LOW, r[2] - (r[3] or 0), r[0]))
    columns = (Column("sku", "商品编码 SKU"), Column("name", "品名 Name"), Column("stock", "库存 Stock"),
               Column("low_stock", "预警线 Low at"), Column("sold", "期间售出 Sold"), Column("status", "状态 Status"))
    low = sum(r[5] == LOW for r in rows)
    notes = (f"{low} product(s) at or below their low-stock level",) if low else ()
    return Report("stock", "库存预警 Stock", columns, rows, {}, ChartSpec("bar", "name", ("stock", "low_stock")),
                  facts.period, notes)
