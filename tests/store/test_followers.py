"""Ledger followers: durable cursors, replay from zero, wake-ups after commits here and polls for other processes'."""
from __future__ import annotations

from core.events import POINTS_ADJUSTED, EventDraft
from kiosk.app import Kiosk
from kiosk.followers.base import Batch, TableCursor
from kiosk.followers.receipts import ReceiptFollower
from kiosk.followers.runner import FollowerRunner, catch_up, replay
from kiosk.store import cursors, print_jobs
from tests.drivers.conftest import wait_until
from tests.store.shop import foreign_sale, open_shop, sell


class Recorder:
    """A follower that remembers the ids it was handed, with its cursor in the ledger."""

    kiosk_id = None
    types = None
    batch = 3  # small, so a catch-up takes several batches

    def __init__(self, kiosk: Kiosk, name: str = "recorder", from_start: bool = True) -> None:
        self.db, self.name, self.seen = kiosk.db, name, []
        self._cursor = TableCursor(kiosk.db, kiosk.clock, name, from_start)

    def position(self) -> int:
        return self._cursor.position()

    def handle(self, events: Batch, upto: int) -> None:
        self.seen += [event.id for _pos, event in events]
        with self.db.transaction() as conn:
            self._cursor.advance(conn, upto)

    def rewind(self) -> None:
        self._cursor.rewind()


def all_ids(kiosk: Kiosk) -> list[str]:
    with kiosk.db.reading() as conn:
        return [event.id for _pos, event in cursors.events_after(conn, 0, 10**9)]


def test_replayed_from_zero_a_follower_sees_every_event_once_more(kiosk):
    open_shop(kiosk)
    late = Recorder(kiosk, "late", from_start=False)  # a follower added to a running shop starts at the end
    sell(kiosk, 2)
    sell(kiosk, 1)
    assert catch_up(kiosk.db, late) == len(late.seen) and late.seen == all_ids(kiosk)[-len(late.seen):]
    assert catch_up(kiosk.db, late) == 0  # its position is durable: nothing twice
    late.seen.clear()
    assert replay(kiosk.db, late) == len(all_ids(kiosk)) and late.seen == all_ids(kiosk)


def test_a_cursor_survives_a_restart(tmp_path):
    with Kiosk.open(tmp_path / "d", kiosk_id="k1") as kiosk:
        open_shop(kiosk)
        first = Recorder(kiosk)
        catch_up(kiosk.db, first)
        sell(kiosk)
    with Kiosk.open(tmp_path / "d") as kiosk:
        again = Recorder(kiosk)
        catch_up(kiosk.db, again)
        assert again.seen == all_ids(kiosk)[len(first.seen):] and again.seen


def test_sales_ingested_from_other_kiosks_are_never_printed(kiosk):
    open_shop(kiosk)
    follower = ReceiptFollower(kiosk.db, kiosk.clock, kiosk.who.kiosk_id)
    theirs = [foreign_sale(kiosk, "k2"), foreign_sale(kiosk, "k3")]
    mine = sell(kiosk).sale_id
    theirs.append(foreign_sale(kiosk, "k2"))
    replay(kiosk.db, follower)  # even replayed from the first event
    with kiosk.db.reading() as conn:
        assert [job.txn for job in print_jobs.pending(conn)] == [mine]
        assert all(not print_jobs.for_sale(conn, txn) for txn in theirs)


def test_the_runner_wakes_on_commits_here_and_polls_for_other_processes(kiosk, tmp_path):
    recorder = Recorder(kiosk, from_start=False)
    runner = FollowerRunner(kiosk.db, [recorder], poll_s=0.2)
    kiosk.gateway.subscribe(runner.wake)
    runner.start()
    try:
        [mine] = kiosk.gateway.commit("C01", [EventDraft(POINTS_ADJUSTED, None, {"reason": "here"}, {})])
        wait_until(lambda: mine.id in recorder.seen, 5, "the follower to see this process's commit")
        with Kiosk.open(kiosk.data_dir) as other:  # the CLI: its own connection, its own gateway
            [theirs] = other.gateway.commit("C01", [EventDraft(POINTS_ADJUSTED, None, {"reason": "cli"}, {})])
        wait_until(lambda: theirs.id in recorder.seen, 5, "the poll to see another connection's commit")
    finally:
        runner.stop()
    assert recorder.seen == [mine.id, theirs.id]

