"""Running report SQL on any DB-API cursor: the placeholder style, the period and store filter, dictionary decoding.

The SQL is written once with `?` and plain SQL-92 (CASE, COALESCE, scalar subqueries), so SQLite at the kiosk and
PostgreSQL at the hub run the same text.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from kiosk.reports.model import Period, ReportError

PLACEHOLDERS = ("?", "%s")


class Facts:
    """The facts tables seen through one cursor, for one period and optionally one store."""

    def __init__(self, cursor: Any, placeholder: str, period: Period, store: str | None = None) -> None:
        if placeholder not in PLACEHOLDERS:
            raise ReportError(f"placeholder {placeholder!r}: expected one of {PLACEHOLDERS}")
        self.cursor, self.placeholder, self.period, self.store = cursor, placeholder, period, store

    def sql(self, text: str) -> str:
        """`text`, written with `?`, in this cursor's placeholder style."""
        return text.replace("?", self.placeholder) if self.placeholder != "?" else text

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of `sql` (written with `?`)."""
        self.cursor.execute(self.sql(sql), tuple(params))
        return [tuple(row) for row in self.cursor.fetchall()]

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is none)."""
        found = self.rows(sql, params)
        return found[0][0] if found else None

    def where(self, alias: str, *, from_start: bool = False, store_of: str | None = None) -> tuple[str, list[Any]]:
        """`alias.day` inside the period (from the ledger's beginning with from_start) and the store filter on
        `store_of.store` (default `alias`), as SQL and its parameters."""
        sql, params = (f"{alias}.day <= ?", [self.period.to_day]) if from_start else (
            f"{alias}.day BETWEEN ? AND ?", [self.period.from_day, self.period.to_day])
        if self.store is not None:
            sql += f" AND {store_of or alias}.store = (SELECT id FROM fact_dict WHERE kind = 'store' AND value = ?)"
            params.append(self.store)
        return sql, params

    def names(self, kind: str, ids: Iterable[int] | None = None) -> dict[int, str]:
        """{dictionary id: value} of one kind ('sku', 'member', ...), only `ids` when given."""
        if ids is None:
            return dict(self.rows("SELECT id, value FROM fact_dict WHERE kind = ?", [kind]))
        wanted = sorted(set(ids))
        found: dict[int, str] = {}
        for i in range(0, len(wanted), 500):  # bounded IN lists: SQLite's variable limit, PostgreSQL's plan size
            chunk = wanted[i:i + 500]
            found.update(self.rows(f"SELECT id, value FROM fact_dict WHERE kind = ? AND id IN "
                                   f"({', '.join('?' * len(chunk))})", [kind, *chunk]))
        return found
