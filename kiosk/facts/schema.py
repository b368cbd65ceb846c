"""The fact tables' DDL, the same on SQLite (the kiosk's ledger) and PostgreSQL (the hub): BIGINT, no AUTOINCREMENT.

Strings are dictionary-encoded in `fact_dict` (ids from 0 per kind, -1 meaning none); rows are keyed by the event's
(kiosk, seq), which are the same at the kiosk and the hub. Amounts are fen; a refund's are negative. Columns after
the spec14 ones are additions simulate needs (a sale's first coupon, birthday bonus, line count; a line's name and
kind, 1 sold or -1 refunded) and a line's tender shares, so that a refund's totals come from the lines it gives back.
"""
from __future__ import annotations

from typing import Any

KINDS = ("member", "sku", "store", "kiosk", "tier", "staff", "coupon", "pack", "type", "name")
NONE = -1  # an id that names nothing: a guest, no tier, no operator, a refund of a sale not (yet) here

TABLES = (
    "CREATE TABLE IF NOT EXISTS fact_dict (kind TEXT NOT NULL, id BIGINT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (kind, id), UNIQUE (kind, value))",
    "CREATE TABLE IF NOT EXISTS fact_sales (kiosk BIGINT NOT NULL, seq BIGINT NOT NULL, kind BIGINT NOT NULL,"
    " sale_kiosk BIGINT NOT NULL, sale_seq BIGINT NOT NULL, ts BIGINT NOT NULL, day BIGINT NOT NULL,"
    " hour BIGINT NOT NULL, store BIGINT NOT NULL, member BIGINT NOT NULL, tier BIGINT NOT NULL,"
    " operator BIGINT NOT NULL, items BIGINT NOT NULL, gross BIGINT NOT NULL, discount BIGINT NOT NULL,"
    " coupon BIGINT NOT NULL, net BIGINT NOT NULL, points_used BIGINT NOT NULL, points_fen BIGINT NOT NULL,"
    " stored_value BIGINT NOT NULL, cash BIGINT NOT NULL, external BIGINT NOT NULL, visits_used BIGINT NOT NULL,"
    " visits_fen BIGINT NOT NULL, earned BIGINT NOT NULL,"
    " coupon_code BIGINT NOT NULL, coupons BIGINT NOT NULL, bonus BIGINT NOT NULL, lines BIGINT NOT NULL,"
    " PRIMARY KEY (kiosk, seq))",
    "CREATE INDEX IF NOT EXISTS fact_sales_day ON fact_sales (day)",
    "CREATE INDEX IF NOT EXISTS fact_sales_member ON fact_sales (member, day)",
    "CREATE INDEX IF NOT EXISTS fact_sales_sale ON fact_sales (sale_kiosk, sale_seq)",  # a sale's refunds
    "CREATE TABLE IF NOT EXISTS fact_lines (kiosk BIGINT NOT NULL, seq BIGINT NOT NULL, line BIGINT NOT NULL,"
    " sku BIGINT NOT NULL, qty BIGINT NOT NULL, price BIGINT NOT NULL, gross BIGINT NOT NULL,"
    " discount BIGINT NOT NULL, net BIGINT NOT NULL, day BIGINT NOT NULL, member BIGINT NOT NULL,"
    " name BIGINT NOT NULL, coupon BIGINT NOT NULL, points_used BIGINT NOT NULL, points_fen BIGINT NOT NULL,"
    " visits_used BIGINT NOT NULL, visits_fen BIGINT NOT NULL, stored_value BIGINT NOT NULL, cash BIGINT NOT NULL,"
    " external BIGINT NOT NULL, earned BIGINT NOT NULL, kind BIGINT NOT NULL, PRIMARY KEY (kiosk, seq, line))",
    "CREATE TABLE IF NOT EXISTS fact_moves (kiosk BIGINT NOT NULL, seq BIGINT NOT NULL, ts BIGINT NOT NULL,"
    " day BIGINT NOT NULL, store BIGINT NOT NULL, member BIGINT NOT NULL, type BIGINT NOT NULL,"
    " points BIGINT NOT NULL, stored_value BIGINT NOT NULL, visits BIGINT NOT NULL, paid BIGINT NOT NULL,"
    " bonus_value BIGINT NOT NULL, bonus_points BIGINT NOT NULL, PRIMARY KEY (kiosk, seq))",
    "CREATE INDEX IF NOT EXISTS fact_moves_day ON fact_moves (day)",
    "CREATE TABLE IF NOT EXISTS fact_coupons (kiosk BIGINT NOT NULL, seq BIGINT NOT NULL, coupon BIGINT NOT NULL,"
    " sale_kiosk BIGINT NOT NULL, sale_seq BIGINT NOT NULL, day BIGINT NOT NULL, cost BIGINT NOT NULL,"
    " reinstated BIGINT NOT NULL, PRIMARY KEY (kiosk, seq))",  # reinstated 1: cost is negative, the discount back
    "CREATE TABLE IF NOT EXISTS fact_shifts (kiosk BIGINT NOT NULL, seq BIGINT NOT NULL, ts BIGINT NOT NULL,"
    " day BIGINT NOT NULL, store BIGINT NOT NULL, staff BIGINT NOT NULL, dir BIGINT NOT NULL,"
    " PRIMARY KEY (kiosk, seq))",
    "CREATE TABLE IF NOT EXISTS fact_pairs (a BIGINT NOT NULL, b BIGINT NOT NULL, n BIGINT NOT NULL,"
    " PRIMARY KEY (a, b))",
)
FACT_TABLES = ("fact_sales", "fact_lines", "fact_moves", "fact_coupons", "fact_shifts", "fact_pairs", "fact_dict")


def script() -> str:
    """TABLES as one SQL script (the kiosk store's schema migration)."""
    return "".join(f"{statement};\n" for statement in TABLES)


def create(conn: Any) -> None:
    """Create the fact tables and indexes that are missing, through anything with `execute` (a connection or cursor)."""
    for statement in TABLES:
        conn.execute(statement)


def clear(conn: Any) -> None:
    """Delete every fact row (a rebuild from the ledger's first event follows)."""
    for table in FACT_TABLES:
        conn.execute(f"DELETE FROM {table}")
