"""What a report is: a titled table with typed columns, its totals and how to chart it; and the period it covers."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, Sequence

from core.catalog import Product
from core.errors import InvalidInput
from core.rules import Rules

FEN = "fen"  # money: integer fen inside and in JSON, yuan in text and CSV
MINUTES = "minutes"  # durations: minutes inside and in JSON, h:mm in text and CSV
PERCENT = "permille"  # shares in tenths of a percent, so rows stay integers


class ReportError(InvalidInput):
    """A report asked for something it cannot give (an unknown name, a bad period); the message says what to fix."""


@dataclass(frozen=True)
class Period:
    """Local days from_day..to_day, both included, as proleptic ordinals (the facts' `day`)."""

    from_day: int
    to_day: int

    def __post_init__(self) -> None:
        if self.from_day > self.to_day:
            raise ReportError(f"the period starts ({self.start}) after it ends ({self.end}): swap --from and --to")

    @classmethod
    def of(cls, start: dt.date, end: dt.date) -> "Period":
        """The period between two dates, both included."""
        return cls(start.toordinal(), end.toordinal())

    @classmethod
    def last(cls, days: int, end: dt.date) -> "Period":
        """The `days` days up to and including `end`."""
        return cls(end.toordinal() - days + 1, end.toordinal())

    @property
    def start(self) -> dt.date:
        """The first day."""
        return dt.date.fromordinal(self.from_day)

    @property
    def end(self) -> dt.date:
        """The last day."""
        return dt.date.fromordinal(self.to_day)

    @property
    def days(self) -> int:
        """How many days it covers."""
        return self.to_day - self.from_day + 1

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


class Column(NamedTuple):
    """A column: its key (JSON, CSV header), its label for people (zh + en) and its unit (FEN, MINUTES, ... or '')."""

    key: str
    label: str
    unit: str = ""


class ChartSpec(NamedTuple):
    """How to draw a report: `kind` bar, line or grid; x is a column key, ys the column keys plotted against it."""

    kind: str
    x: str
    ys: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """One report's result, ready for a table, CSV, JSON or a chart."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    totals: Mapping[str, Any] = field(default_factory=dict)  # column key -> total, for the columns that add up
    chart: ChartSpec | None = None
    period: Period | None = None
    notes: tuple[str, ...] = ()  # what a reader must know (open shifts, an unknown product)

    def column(self, key: str) -> int:
        """The index of the column `key`."""
        return [c.key for c in self.columns].index(key)

    def values(self, key: str) -> list[Any]:
        """The column `key` of every row."""
        i = self.column(key)
        return [row[i] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        """The rows as {column key: value}."""
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row)) for row in self.rows]


@dataclass(frozen=True)
class Inputs:
    """What reports need besides the facts: the catalog with live stock, the rulebook, staff names, and the instant
    open shifts are counted up to (the period's end, or now when that is earlier)."""

    products: Mapping[str, Product] = field(default_factory=dict)
    rules: Rules | None = None
    staff_names: Mapping[str, str] = field(default_factory=dict)
    until_ms: int | None = None


def totals_of(columns: Sequence[Column], rows: Sequence[Sequence[Any]], keys: Sequence[str]) -> dict[str, Any]:
    """Column sums of `keys` over the rows."""
    index = {c.key: i for i, c in enumerate(columns)}
    return {k: sum(row[index[k]] for row in rows) for k in keys}


def share(part: int, whole: int) -> int:
    """part of whole in tenths of a percent, rounded half up (0 of nothing)."""
    return (2000 * part + whole) // (2 * whole) if whole > 0 else 0
