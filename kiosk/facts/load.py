"""Scans of the fact tables into int64 columns (`array('q')`) for simulate and the analytics kernels."""
from __future__ import annotations

from array import array
from operator import itemgetter
from typing import Any, Sequence

CHUNK = 50_000


def columns(cursor: Any, sql: str, names: Sequence[str], params: Sequence[Any] = ()) -> dict[str, array]:
    """Run a SELECT of integer columns and return them by `names`, one array('q') each, in row order."""
    out = {name: array("q") for name in names}
    cursor.execute(sql, tuple(params))
    arrays = [(out[name], itemgetter(i)) for i, name in enumerate(names)]
    while rows := cursor.fetchmany(CHUNK):
        for column, get in arrays:
            column.extend(map(get, rows))
    return out


def dictionary(cursor: Any, kind: str, placeholder: str = "?") -> list[str]:
    """The strings of one `fact_dict` kind by id (ids of a kind run from 0 without gaps)."""
    cursor.execute(f"SELECT id, value FROM fact_dict WHERE kind = {placeholder} ORDER BY id", (kind,))
    values = cursor.fetchall()
    return [value for _id, value in values]


def visits(cursor: Any, placeholder: str = "?", from_day: int | None = None, to_day: int | None = None) -> dict[str, array]:
    """Members' visits for RFM and churn: `member`, `day` and `amount` (the sale's net after its refunds) of every
    member's sale made in [from_day, to_day] (refunds made later still net against it)."""
    p, where, params = placeholder, "", []
    if from_day is not None:
        where += f" AND s.day >= {p}"
        params.append(from_day)
    if to_day is not None:
        where += f" AND s.day <= {p}"
        params.append(to_day)
    sql = ("SELECT s.member, s.day, s.net + COALESCE((SELECT SUM(r.net) FROM fact_sales r WHERE r.sale_kiosk = s.kiosk"
           f" AND r.sale_seq = s.seq AND r.kind = -1), 0) FROM fact_sales s WHERE s.kind = 1 AND s.member >= 0{where}")
    return columns(cursor, sql, ("member", "day", "amount"), params)


def pairs(cursor: Any) -> dict[str, array]:
    """SKU pairs bought together: `a` < `b` (sku ids) and `n`, the sales that held both."""
    return columns(cursor, "SELECT a, b, n FROM fact_pairs", ("a", "b", "n"))
