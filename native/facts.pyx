# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython kernels of core.facts.line_rows and totals: a sale's fact_lines rows and their sums built in C, the hot
path of a facts rebuild.

core.facts stays the oracle (tests/facts/test_native.py): the same rows and sums, its BadPayload on a bad line.
"""
from core.facts import SUMMED, TOTALS, bad_line

cdef tuple C_SUMMED = SUMMED


def line_rows(sale, kiosk, seq, member, skus, names) -> list:
    """core.facts.line_rows: the sale's fact_lines rows, its SKUs and names encoded by `skus` and `names`."""
    cdef list out = []
    cdef object x  # not typed dict: a bad line fails with the TypeError core.facts.line_rows raises
    cdef Py_ssize_t n = 0
    day, kind = sale.day, sale.kind
    try:
        for x in sale.lines:
            out.append((kiosk, seq, n, skus[x["sku"]], x["qty"], x["price"], x["gross"], x["discount"] + x["threshold"],
                        x["net"], day, member, names[x["name"]], x["coupon"], x["points_used"], x["points_fen"],
                        x["visits_used"], x["visits_fen"], x["stored_value"], x["cash"], x["external"], x["earned"],
                        kind))
            n += 1
    except (KeyError, TypeError, ValueError) as exc:
        raise bad_line(kiosk, seq, exc) from None
    return out


def totals(rows) -> list:
    """core.facts.totals: the sums of line rows that a fact_sales row holds."""
    cdef list out = []
    cdef tuple row
    if not rows:
        return [0] * len(TOTALS)
    for i in C_SUMMED:
        total = 0
        for row in rows:
            total = total + row[i]
        out.append(total)
    return out
