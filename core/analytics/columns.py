"""The column contract both engines check: per-visit rows of equal length, members numbered 0..n_members-1."""
from __future__ import annotations

from typing import Sequence

from core.errors import KioskError

Column = Sequence[int]  # array('q'), a list, or any buffer of 64-bit integers


class AnalyticsInputError(KioskError):
    """Columns that do not fit together: the facts scan and the member numbering disagree (a bug, or stale facts)."""


def check_columns(n_members: int, *columns: Column) -> None:
    """Refuse columns of unequal length or a negative member count before any loop runs."""
    if n_members < 0:
        raise AnalyticsInputError(f"analytics: n_members is {n_members}; it must be 0 or more")
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise AnalyticsInputError(f"analytics: the input columns differ in length ({sorted(lengths)}); "
                                  "they must come from one facts scan")


def member_out_of_range(row: int, member: int, n_members: int) -> AnalyticsInputError:
    """The error for a row whose member is not numbered 0..n_members-1 (both engines raise this one)."""
    return AnalyticsInputError(f"analytics: row {row} names member {member}, outside 0..{n_members - 1}; the facts scan "
                               "and the member numbering disagree (run `memberkiosk facts rebuild`)")


def check_positive(name: str, value: int, low: int = 1, high: int | None = None) -> None:
    """Refuse a window, percentile or minimum outside its range, naming the parameter."""
    if value < low or (high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f"{low} or more"
        raise AnalyticsInputError(f"analytics: {name} is {value}; it must be {span}")
