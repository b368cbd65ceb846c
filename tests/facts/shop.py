"""Reading the fact tables back in tests: every row by its key, and the dictionary both ways."""
from __future__ import annotations

from kiosk.app import Kiosk
from kiosk.clock import DAY_MS
from kiosk.facts.writer import COUPON_COLUMNS, LINE_COLUMNS, MOVE_COLUMNS, SALE_COLUMNS, SHIFT_COLUMNS

__all__ = ["DAY_MS", "Dictionary", "fact_dict", "facts"]

KEYED = {"fact_sales": (SALE_COLUMNS, 2), "fact_lines": (LINE_COLUMNS, 3), "fact_moves": (MOVE_COLUMNS, 2),
         "fact_coupons": (COUPON_COLUMNS, 2), "fact_shifts": (SHIFT_COLUMNS, 2)}


def facts(kiosk: Kiosk) -> dict[str, dict]:
    """Every fact table as {key: {column: value}}; fact_pairs as {(a, b): n}; fact_dict as {(kind, value): id}."""
    out: dict[str, dict] = {}
    with kiosk.db.reading() as conn:
        for table, (columns, width) in KEYED.items():
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            out[table] = {row[:width]: dict(zip(columns, row)) for row in rows}
        out["fact_pairs"] = {(a, b): n for a, b, n in conn.execute("SELECT a, b, n FROM fact_pairs")}
        out["fact_dict"] = {(kind, value): id_ for kind, id_, value in conn.execute("SELECT kind, id, value FROM fact_dict")}
    return out


class Dictionary(dict):
    """fact_dict: `d[kind, value]` is the id, `d.value(kind, id)` the string."""

    def value(self, kind: str, id_: int) -> str:
        return next(v for (k, v), i in self.items() if k == kind and i == id_)


def fact_dict(kiosk: Kiosk) -> Dictionary:
    return Dictionary(facts(kiosk)["fact_dict"])
