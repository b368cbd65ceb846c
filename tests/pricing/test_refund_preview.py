"""The refund preview a manager sees equals the refund that commits: random sales against the demo rulebook on a
real store, random line subsets, and the member's points spent in between (so some earned points come up short)."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from core.errors import KioskError
from core.events import COUPON_REINSTATED, POINTS_ADJUSTED, SALE_REFUNDED, EventDraft
from core.points import topup_drafts
from core.quote_input import BasketLine, TenderRequest
from core.refunds import refund_preview
from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.store.ledger import txn_events, txn_number
from kiosk.store.verify import verify_ledger
from tests.conftest import FakeClock
from tests.pricing.conftest import CATALOG, DEMO, RULES

DAY_MS = 86_400_000
SKUS = ("TEA-500", "MILK-1L", "APPLE-1KG", "CHIPS", "NUTS", "CIG-20", "WASH", "WASH-10")  # WASH-10 is a visit pack
baskets = st.lists(st.builds(BasketLine, st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=6)
coupon_sets = st.lists(st.sampled_from(("WELCOME10", "SNACK20", "TEA5")), unique=True, max_size=1)


class RefundPreviewMachine(RuleBasedStateMachine):
    """One kiosk per run: sales (member or guest, any tenders), points spent, days passing, and refunds."""

    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.clock = FakeClock()
        self.kiosk = Kiosk.open(Path(self._tmp.name) / "data", clock=self.clock, kiosk_id="k1", store_id="s1")
        self.sales = self.kiosk.sales
        self.sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
        self.sales.load_catalog(CATALOG)
        self.member = self.kiosk.members.register(Registration(phone="13800138000", consent=True)).member.member_id
        self.kiosk.members.commit(topup_drafts(self.member, 300_000, RULES))  # ¥3000 of stored value and 2000 points
        self.sold: list[str] = []

    def teardown(self) -> None:
        with self.kiosk.db.reading() as conn:
            problems = verify_ledger(conn)
        self.kiosk.close()
        self._tmp.cleanup()
        assert problems == []

    @initialize(basket=baskets, share=st.integers(0, 100))
    def first_sale(self, basket: list[BasketLine], share: int) -> None:
        """Every run starts with a member's sale, so there is something to refund from the first step."""
        self.sell(basket, True, [], share, True, False)

    @rule(basket=baskets, member=st.booleans(), coupons=coupon_sets, share=st.integers(0, 100),
          stored_value=st.booleans(), cash=st.booleans())
    def sell(self, basket: list[BasketLine], member: bool, coupons: list[str], share: int, stored_value: bool,
             cash: bool) -> None:
        """A sale of any shape; one the rules refuse (stock, coupon, too few points) is simply not made."""
        member_id = self.member if member else None
        try:
            points = 0
            if member_id:
                due = self.sales.preview(member_id, basket, coupons).due
                options = self.sales.tender_options(self.kiosk.members.get(member_id).balances.points, due)
                points = options.max_points * share // 100 // options.step * options.step
            tender = TenderRequest(points=points, stored_value=stored_value and member, cash=10**9 if cash else None)
            self.sold.append(self.sales.checkout(member_id, basket, coupons, tender).sale_id)
        except KioskError:
            pass

    @rule(keep=st.integers(0, 30))
    def spend_points(self, keep: int) -> None:
        """The member spends all but `keep` of their points elsewhere, so a refund may find earned points gone."""
        points = self.kiosk.members.get(self.member).balances.points
        if points > keep:
            self.kiosk.members.commit([EventDraft(POINTS_ADJUSTED, self.member, {"reason": "test"}, {"points": keep - points})])

    @rule(days=st.integers(1, 90))
    def pass_days(self, days: int) -> None:
        """Coupons and visit packs expire; the refund must see the same day as its preview."""
        self.clock.advance(days * DAY_MS)

    @precondition(lambda self: self.sold)
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        """Preview some lines of a sale (by id or receipt number), refund the same lines, compare with what moved."""
        sale_id = data.draw(st.sampled_from(self.sold))
        member_id, sale, refunded = self.sales.find(sale_id)
        ref = sale_id if data.draw(st.booleans()) else self._number(sale_id)
        count = len(sale["lines"])
        lines = data.draw(st.one_of(st.none(), st.lists(st.integers(0, count - 1), min_size=1, max_size=count, unique=True)))
        try:
            preview = self.sales.refund_preview(ref, lines)
        except KioskError as exc:  # refused: the refund itself is refused for the same reason
            with pytest.raises(type(exc), match=re.escape(str(exc))):
                self.sales.refund(ref, lines)
            return
        before = self._state(member_id)
        events = self.sales.refund(ref, lines)
        after = self._state(member_id)

        assert events[0].type == SALE_REFUNDED and all(e.type == COUPON_REINSTATED for e in events[1:])
        assert refund_preview(sale, events) == preview  # exactly the data and deltas committed
        picked = [sale["lines"][i] for i in preview.lines]
        assert list(preview.lines) == (sorted(lines) if lines is not None else [i for i in range(count) if i not in refunded])
        assert self.sales.find(sale_id)[2] == refunded | set(preview.lines)
        assert preview.net == sum(line["net"] for line in picked)
        assert preview.cash == sum(line["cash"] for line in picked)
        assert preview.external == sum(line["external"] for line in picked)
        assert preview.points_clawed + preview.points_short == sum(line["earned"] for line in picked)
        assert after["stock"] == {sku: n + preview.stock.get(sku, 0) for sku, n in before["stock"].items()}
        if member_id is not None:
            b, a = before["balances"], after["balances"]
            assert preview.points_clawed == min(sum(line["earned"] for line in picked), b.points + preview.points_back)
            assert a.points - b.points == preview.points_back - preview.points_clawed
            assert a.stored_value - b.stored_value == preview.stored_value == sum(line["stored_value"] for line in picked)
            assert {p: a.visits.get(p, 0) - b.visits.get(p, 0) for p in {*a.visits, *b.visits}} == {
                p: preview.visits.get(p, 0) for p in {*a.visits, *b.visits}}

    def _number(self, sale_id: str) -> str:
        """The 单号 printed on the sale's receipt."""
        with self.kiosk.db.reading() as conn:
            return txn_number(txn_events(conn, sale_id)[0])

    def _state(self, member_id: str | None) -> dict:
        stock = {sku: p.stock for sku, p in self.sales.catalog().items() if p.stock is not None}
        return {"stock": stock, "balances": self.kiosk.members.get(member_id).balances if member_id else None}


RefundPreviewMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
test_refund_preview_equals_the_committed_refund = RefundPreviewMachine.TestCase
