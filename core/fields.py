"""Field converters for operator-written files (rules TOML, catalog CSV/JSON): every error names its key.

Money is written in yuan (an integer or a string such as "99.99"; a float is refused because it cannot be exact),
ratios as numbers with at most two decimals (multiplier = 1.5, points_per_yuan = 0.5).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, TypeVar

from core.errors import InvalidAmount, RulesError
from core.money import parse_yuan

T = TypeVar("T")
MAX_PRICE = 100_000_000  # ¥1,000,000 per unit keeps every basket sum far inside 64-bit integers
MAX_RATE = 10_000  # 100 points per yuan, in hundredths


class Table:
    """A TOML table that knows its own path, so any error can name the exact key; unknown keys are errors too."""

    def __init__(self, raw: Any, path: str):
        if not isinstance(raw, dict):
            raise RulesError(f"{path or 'rules'}: expected a table")
        self.raw, self.path = raw, path

    def key(self, name: str) -> str:
        """The full dotted path of `name`."""
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, conv: Callable[[Any, str], T], default: T) -> T:
        """`name` converted by `conv`, or `default` when absent."""
        return conv(self.raw[name], self.key(name)) if name in self.raw else default

    def need(self, name: str, conv: Callable[[Any, str], T]) -> T:
        """`name` converted by `conv`; missing is an error."""
        if name not in self.raw:
            raise RulesError(f"{self.key(name)}: missing")
        return conv(self.raw[name], self.key(name))

    def table(self, name: str) -> "Table":
        """Sub-table `name` (empty when absent)."""
        return Table(self.raw.get(name, {}), self.key(name))

    def tables(self, name: str) -> list["Table"]:
        """Array of tables `name` ([[name]] in TOML)."""
        items = self.raw.get(name, [])
        if not isinstance(items, list):
            raise RulesError(f"{self.key(name)}: expected a list of tables ([[{name}]])")
        return [Table(item, f"{self.key(name)}[{i}]") for i, item in enumerate(items)]

    def only(self, *names: str) -> None:
        """Refuse keys other than `names` (catches typos such as pay_precent)."""
        unknown = sorted(set(self.raw) - set(names))
        if unknown:
            raise RulesError(f"{self.key(unknown[0])}: unknown key (expected one of {', '.join(names)})")


def yuan(value: Any, key: str) -> int:
    """Money in yuan -> fen: 100, "99.99"."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise RulesError(f'{key}: write money as yuan in quotes, e.g. "99.99" (got {value!r})')
    try:
        fen = parse_yuan(str(value))
    except InvalidAmount as exc:
        raise RulesError(f"{key}: {exc}") from None
    if fen > MAX_PRICE:
        raise RulesError(f"{key}: {value} yuan is above the ¥1,000,000 limit")
    return fen


def integer(low: int, high: int) -> Callable[[Any, str], int]:
    """A whole number within [low, high]."""

    def conv(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RulesError(f"{key}: expected a whole number from {low} to {high} (got {value!r})")
        return value

    return conv


def hundredths(high: int) -> Callable[[Any, str], int]:
    """A ratio with at most two decimals (1.5 -> 150), at most `high` hundredths."""

    def conv(value: Any, key: str) -> int:
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            scaled = Decimal(str(value)) * 100
        except InvalidOperation:
            raise RulesError(f"{key}: expected a number (got {value!r})") from None
        if scaled != scaled.to_integral_value() or not 0 <= scaled <= high:
            raise RulesError(f"{key}: expected a number from 0 to {high / 100:g} with at most 2 decimals (got {value!r})")
        return int(scaled)

    return conv


def text(value: Any, key: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{key}: expected text (got {value!r})")
    return value.strip()


def choice(*options: str) -> Callable[[Any, str], str]:
    """One of `options`."""

    def conv(value: Any, key: str) -> str:
        if value not in options:
            raise RulesError(f"{key}: expected one of {', '.join(options)} (got {value!r})")
        return value

    return conv


def date(value: Any, key: str) -> dt.date:
    """A TOML date (2026-11-30) or the same as a string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RulesError(f"{key}: expected a date like 2026-11-30 (got {value!r})") from None


def boolean(value: Any, key: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise RulesError(f"{key}: expected true or false (got {value!r})")
    return value


def string_list(value: Any, key: str) -> tuple[str, ...]:
    """A list of SKUs or names."""
    if not isinstance(value, list):
        raise RulesError(f"{key}: expected a list of strings")
    return tuple(text(v, f"{key}[{i}]") for i, v in enumerate(value))


def rate_table(t: Table) -> dict[str, int]:
    """{name: hundredths of a point per yuan}."""
    return {name: hundredths(MAX_RATE)(value, t.key(name)) for name, value in t.raw.items()}


def window(t: Table) -> dict[str, dt.date | None]:
    """valid_from / valid_until, checked to be in order."""
    low, high = t.get("valid_from", date, None), t.get("valid_until", date, None)
    if low and high and high < low:
        raise RulesError(f"{t.key('valid_until')}: {high} is before valid_from {low}")
    return {"valid_from": low, "valid_until": high}
