"""The running kiosk keeps its facts current after each commit, and an older ledger gets the fact tables at open."""
from __future__ import annotations

from kiosk.app import Kiosk
from kiosk.facts.schema import FACT_TABLES, script
from kiosk.runtime import DeviceRuntime
from kiosk.store.schema import MIGRATIONS
from tests.conftest import wait_until
from tests.store.shop import open_shop, sell


def sales_in_facts(kiosk: Kiosk) -> int:
    with kiosk.db.reading() as conn:
        return conn.execute("SELECT COUNT(*) FROM fact_sales").fetchone()[0]


def test_the_running_kiosk_writes_each_sales_facts_right_after_its_commit(kiosk):
    open_shop(kiosk)
    with DeviceRuntime.start(kiosk, {"printer": {"type": "sim"}}):
        sell(kiosk)
        wait_until(lambda: sales_in_facts(kiosk) == 1, 5, "the facts follower to write the sale")
        sell(kiosk, 3)
        wait_until(lambda: sales_in_facts(kiosk) == 2, 5, "the facts follower to write the second sale")


def test_a_ledger_from_before_the_facts_gets_their_tables_when_it_opens(tmp_path, clock):
    data = tmp_path / "data"
    with Kiosk.open(data, clock=clock, kiosk_id="k1", store_id="s1") as kiosk:
        open_shop(kiosk)
        sell(kiosk)
        with kiosk.db.transaction() as conn:  # as the ledger was one version before the facts
            for table in FACT_TABLES:
                conn.execute(f"DROP TABLE {table}")
            conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(script())}")
    with Kiosk.open(data, clock=clock) as kiosk:
        assert kiosk.whatif.simulate(kiosk.sales.pricing().rules).sales == 1  # history written from the first event
        assert sales_in_facts(kiosk) == 1
