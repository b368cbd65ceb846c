"""Money is integer fen everywhere; these are the only ways in from text and out to text."""
import re

from core.errors import InvalidAmount
from core.text import fold_number

_YUAN = re.compile(r"^\s*¥?\s*([0-9]{1,9})(?:\.([0-9]{1,2}))?\s*$")  # after NFKC, which folds ￥ into ¥


def parse_yuan(text: str) -> int:
    """Parse '12', '12.3', '¥12.30' or full-width '１２.３' into fen (1230); anything else raises InvalidAmount."""
    match = _YUAN.match(fold_number(text, "amount", InvalidAmount))
    if not match:
        raise InvalidAmount(f"'{text}' is not an amount in yuan (for example 100 or 99.90)")
    whole, frac = match.groups()
    return int(whole) * 100 + int((frac or "0").ljust(2, "0"))


def format_fen(fen: int, symbol: str = "¥") -> str:
    """Format fen as yuan with two decimals: 1230 -> '¥12.30', -5 -> '-¥0.05'."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{symbol}{whole}.{frac:02d}"


def percent_of(fen: int, percent: int) -> int:
    """percent% of an amount, rounded half-up to the fen (8折 is percent_of(x, 80))."""
    return (fen * percent * 2 + 100) // 200
