"""The sales facts at the hub, on SQLite and PostgreSQL: written in the applying transaction exactly once, equal to
a rebuild from the hub's events, and read by the reports chain-wide and per store."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kiosk.facts.writer import COUPON_COLUMNS, LINE_COLUMNS, MOVE_COLUMNS, SALE_COLUMNS, SHIFT_COLUMNS
from kiosk.reports.model import Period
from kiosk.reports.queries import run
from mqtt.hub.apply import Batch
from mqtt.hub.store import HubStore
from tests.hub.chain import NET, REFUNDS, SALES, two_stores
from tests.hub.helpers import event

NOVEMBER = Period.of(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
ENCODED = {"kiosk": "kiosk", "sale_kiosk": "kiosk", "store": "store", "member": "member", "tier": "tier",
           "operator": "staff", "staff": "staff", "coupon_code": "coupon", "sku": "sku", "name": "name",
           "type": "type"}  # columns holding fact_dict ids (fact_coupons.coupon too), by their kind
TABLES = {"fact_sales": SALE_COLUMNS, "fact_lines": LINE_COLUMNS, "fact_moves": MOVE_COLUMNS,
          "fact_coupons": COUPON_COLUMNS, "fact_shifts": SHIFT_COLUMNS}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return two_stores(Path(tmp_path_factory.mktemp("chain")))


def decoded(hub: HubStore) -> dict[str, list]:
    """Every fact row with its dictionary ids replaced by the strings, sorted: comparable across id orders."""
    def read(cur) -> dict[str, list]:
        cur.execute("SELECT kind, id, value FROM fact_dict")
        names = {(kind, id_): value for kind, id_, value in cur.fetchall()}
        out = {}
        for table, columns in TABLES.items():
            cur.execute(f"SELECT {', '.join(columns)} FROM {table}")
            kinds = [ENCODED.get(c, "coupon" if (table, c) == ("fact_coupons", "coupon") else None) for c in columns]
            out[table] = sorted(tuple(names.get((k, v), v) if k else v for k, v in zip(kinds, row))
                                for row in cur.fetchall())
        cur.execute("SELECT a, b, n FROM fact_pairs")
        out["fact_pairs"] = sorted(tuple(sorted((names["sku", a], names["sku", b]))) + (n,) for a, b, n in cur.fetchall())
        return out
    return hub.facts_read(read)


def test_facts_at_apply_equal_a_rebuild_and_a_duplicate_writes_nothing(hub: HubStore, chain: dict) -> None:
    s1, s2 = chain["s1"], chain["s2"]
    acks = hub.apply([Batch("s2-k1", s2[:3]), Batch("s1-k1", s1[:4])])
    acks += hub.apply([Batch("s1-k1", s1[4:]), Batch("s2-k1", s2[3:])])
    assert sum(a.new for a in acks) == len(s1) + len(s2)
    applied = decoded(hub)
    assert len(applied["fact_sales"]) == 4 and len(applied["fact_lines"]) == 2 + 1 + 1 + 1  # the refund gives 1 line

    again = hub.apply([Batch("s1-k1", s1), Batch("s2-k1", s2)])  # the whole chain delivered twice
    assert [a.duplicate for a in again] == [len(s1), len(s2)] and not any(a.new for a in again)
    assert decoded(hub) == applied

    assert hub.facts_rebuild() == 5  # three sales, a refund, a top-up
    assert decoded(hub) == applied
    assert hub.facts_timezone() == "Asia/Shanghai"


def test_reports_chain_wide_and_per_store(hub: HubStore, chain: dict) -> None:
    hub.apply([Batch("s1-k1", chain["s1"]), Batch("s2-k1", chain["s2"])])
    by_store = hub.facts_read(lambda cur: run("sales", cur, "?", NOVEMBER, by="store"))
    assert {r["store"]: (r["sales"], r["refunds"], r["net"]) for r in by_store.records()} == {
        s: (SALES[s], REFUNDS[s], NET[s]) for s in NET}
    assert by_store.totals["net"] == NET["s1"] + NET["s2"]
    one = hub.facts_read(lambda cur: run("sales", cur, "?", NOVEMBER, store="s2", by="day"))
    assert one.totals["net"] == NET["s2"] and one.totals["sales"] == 1
    stored = hub.facts_read(lambda cur: run("stored-value", cur, "?", NOVEMBER))
    assert stored.totals["amount"] == 50_000 + 5000  # 充500送50


def test_an_event_whose_facts_cannot_be_read_is_applied_without_them(hub: HubStore, chain: dict) -> None:
    odd = event("s3-k1", 1, store="s3")  # a sale without lines (the hub tests' bare events)
    acks = hub.apply([Batch("s3-k1", [odd]), Batch("s1-k1", chain["s1"])])
    assert [a.new for a in acks] == [1, len(chain["s1"])]
    by_store = hub.facts_read(lambda cur: run("sales", cur, "?", NOVEMBER, by="store"))
    assert [(r["store"], r["net"]) for r in by_store.records()] == [("s1", NET["s1"])]
