"""Random sequences of member operations: the store's projections always equal a fresh fold and a model."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from core.errors import KioskError
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store.verify import verify_ledger
from tests.conftest import FakeClock

ops = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.integers(0, 5), st.integers(0, 7)),
        st.tuples(st.just("topup"), st.integers(1, 6), st.integers(-10, 100_000)),
        st.tuples(st.just("link"), st.integers(1, 6), st.integers(0, 7)),
        st.tuples(st.just("block"), st.integers(0, 7), st.just(0)),
        st.tuples(st.just("erase"), st.integers(1, 6), st.just(0)),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_any_sequence_keeps_projections_equal_to_the_fold(sequence: list[tuple[str, int, int]]) -> None:
    model: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp, Kiosk.open(Path(tmp), clock=FakeClock(), kiosk_id="p") as kiosk:
        for op, a, b in sequence:
            member_id = f"p-{a:06d}"
            try:
                if op == "register":
                    created = kiosk.members.register(Registration(phone=f"1380000000{a}", consent=True, card=f"040000{b:02X}"))
                    model[created.member.member_id] = 0
                elif op == "topup":
                    top_up(kiosk.members, member_id, b)
                    model[member_id] += b
                elif op == "link":
                    kiosk.members.link_card(member_id, f"040000{b:02X}")
                elif op == "block":
                    kiosk.members.block_card(f"040000{a:02X}")
                else:
                    kiosk.members.erase(member_id)
            except KioskError:
                pass  # refused operations must leave no trace, which the checks below prove
        with kiosk.db.reading() as conn:
            assert verify_ledger(conn) == []
            stored = dict(conn.execute("SELECT member_id, stored_value FROM balances").fetchall())
            assert stored == model
            active = conn.execute("SELECT uid, COUNT(*) FROM cards GROUP BY uid HAVING COUNT(*) > 1").fetchall()
            assert active == []
