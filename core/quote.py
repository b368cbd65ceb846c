"""The pure quote: what a member pays and earns for a basket, and the exact ledger events a checkout writes.

Tender order (fixed): coupons, points, visits, stored value, then cash or external (card, WeChat, Alipay).
Visits are matched to their service lines before points are counted, because a visit pays whole units of one
line, not a sum; points are then capped on what visits leave to pay, so no point ever pays for a prepaid visit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, NamedTuple, Sequence

from core.catalog import Product
from core.errors import (CouponRejected, ExcessiveCash, InsufficientBalance, InsufficientPayment, TierReserved,
                         UnknownProduct)
from core.events import EventDraft
from core.money import format_fen
from core.payloads import BirthdayBonus, CouponRedeemed, SaleCompleted, SaleLine, VisitsSold
from core.pricing import PriceInput, PriceResult, price_basket, spread
from core.quote_input import BasketLine, MemberState, TenderRequest, check_basket, pricing_input
from core.rules import Coupon, Rules
from core.tiers import tier_change_drafts

Pricer = Callable[[PriceInput, Sequence[str]], PriceResult]
PUNCH_CARD_CATEGORY = "punch_card"
MAX_CHANGE = 100_000  # ¥1,000: ten ¥100 notes over the amount due is the most change a till hands back


class QuoteLine(NamedTuple):
    """One basket line after every discount, with its share of each tender (refunds reverse exactly these).

    A NamedTuple rather than a frozen dataclass: a quote builds one per line on every checkout, and tuples are
    several times cheaper to make."""

    sku: str
    name: str
    qty: int
    price: int
    gross: int
    discount: int
    threshold: int
    coupon: int
    net: int  # gross - discount - threshold - coupon
    visits_pack: str | None
    visits_used: int
    visits_fen: int
    points_used: int
    points_fen: int
    stored_value: int
    cash: int
    external: int
    earned: int
    stocked: bool
    pack_bought: str | None = None
    pack_visits: int = 0


@dataclass(frozen=True)
class Quote:
    """A priced basket: lines, totals, tenders, points, tier change and the drafts a commit writes."""

    lines: tuple[QuoteLine, ...]
    coupons: tuple[str, ...]
    cash_given: int
    change: int
    tier_before: str | None
    tier_after: str | None
    birthday_bonus: int = 0  # tier perk points granted by this sale (once a year)
    drafts: tuple[EventDraft, ...] = field(default=())

    def total(self, name: str) -> int:
        """The sum of one QuoteLine amount over the lines, e.g. total('net')."""
        return sum(getattr(line, name) for line in self.lines)

    @property
    def spend(self) -> int:
        """What was paid with money (stored value, cash, external): the qualifying spend of the sale."""
        return self.total("stored_value") + self.total("cash") + self.total("external")


def resolve_products(basket: Sequence[BasketLine], catalog: Mapping[str, Product], rules: Rules) -> list[Product]:
    """The product of every line, punch cards included; UnknownProduct names the SKU nobody knows."""
    out = []
    for line in basket:
        product = catalog.get(line.sku)
        pack = rules.punch_cards.get(line.sku)
        if product is None and pack is not None:
            product = Product(sku=pack.id, name=pack.name, price=pack.price, category=PUNCH_CARD_CATEGORY)
        if product is None:
            raise UnknownProduct(f"no product with SKU {line.sku!r} in the catalog")
        out.append(product)
    return out


def _check_access(basket: Sequence[BasketLine], products: list[Product], member: MemberState | None, rules: Rules) -> None:
    rank = rules.tiers.by_name(member.tier).rank if member else 0
    reserved = rules.tiers.reserved
    wanted: dict[str, int] = {}
    for line, product in zip(basket, products):
        if reserved.get(line.sku, 0) > rank:
            need = rules.tiers.levels[reserved[line.sku]].name
            raise TierReserved(f"{product.name} is reserved to {need} members and above")
        if product.stock is not None:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.qty
            if wanted[line.sku] > product.stock:
                raise InsufficientBalance(f"only {product.stock} of {product.name} left in stock")


def check_coupons(coupons: Sequence[Coupon], member: MemberState | None, today: dt.date) -> None:
    """Refuse a used, expired, not-yet-valid, repeated or someone else's coupon before any pricing."""
    seen: set[str] = set()
    for c in coupons:
        if c.used:
            raise CouponRejected(f"coupon {c.code} has already been used")
        if c.code in seen:
            raise CouponRejected(f"coupon {c.code} was presented twice")
        if not c.valid_on(today):
            when = f"expired on {c.valid_until}" if c.valid_until and today > c.valid_until else f"valid from {c.valid_from}"
            raise CouponRejected(f"coupon {c.code} is {when}")
        if c.member_id is not None and (member is None or member.member_id != c.member_id):
            raise CouponRejected(f"coupon {c.code} belongs to another member")
        seen.add(c.code)


@dataclass(frozen=True)
class Preview:
    """A priced basket before the tender split: what the screen shows after every scan."""

    products: list[Product]
    result: PriceResult
    packs: list[tuple[str | None, int]]  # (visit pack, units) per line
    birthday_bonus: int

    @property
    def due(self) -> int:
        """What is left to pay after discounts, coupons, visits and points."""
        return sum(self.result.paid)

    @property
    def earned(self) -> int:
        """Points this basket would earn."""
        return sum(self.result.earned)


def preview(
    basket: Sequence[BasketLine],
    member: MemberState | None,
    rules: Rules,
    catalog: Mapping[str, Product],
    coupons: Sequence[Coupon],
    tender: TenderRequest,
    now: dt.datetime,
    pricer: Pricer = price_basket,
) -> Preview:
    """Price a basket for a member (None for a guest) at local time `now`; raises the first reason it cannot be sold."""
    today = now.date()
    check_basket(basket)
    products = resolve_products(basket, catalog, rules)
    _check_access(basket, products, member, rules)
    check_coupons(coupons, member, today)
    inp, packs, birthday_bonus = pricing_input(basket, products, member, rules, coupons, tender, today)
    return Preview(products, pricer(inp, [c.code for c in coupons]), packs, birthday_bonus)


def quote(
    basket: Sequence[BasketLine],
    member: MemberState | None,
    rules: Rules,
    catalog: Mapping[str, Product],
    coupons: Sequence[Coupon],
    tender: TenderRequest,
    now: dt.datetime,
    pricer: Pricer = price_basket,
) -> Quote:
    """The preview split over the tenders, with the tier change and the ledger drafts a checkout commits."""
    p = preview(basket, member, rules, catalog, coupons, tender, now, pricer)
    lines = _tender_lines(basket, p.products, p.result, p.packs, member, rules, tender)
    rest = sum(line.cash for line in lines)
    if tender.cash is not None and tender.cash < rest:
        raise InsufficientPayment(f"cash {format_fen(tender.cash)} does not cover {format_fen(rest)} left to pay")
    if tender.cash is not None and tender.cash - rest > MAX_CHANGE:
        raise ExcessiveCash(f"cash {format_fen(tender.cash)} is more than {format_fen(MAX_CHANGE)} above the "
                            f"{format_fen(rest)} left to pay; check the amount typed")
    q = Quote(
        lines=tuple(lines),
        coupons=tuple(c.code for c in coupons),
        cash_given=tender.cash or 0,
        change=(tender.cash or 0) - rest,
        tier_before=member.tier if member else None,
        tier_after=None,
        birthday_bonus=p.birthday_bonus,
    )
    tier_drafts = tier_change_drafts(member, q.spend, rules) if member else []
    tier_after = tier_drafts[0].data["tier"] if tier_drafts else q.tier_before
    return replace(q, tier_after=tier_after, drafts=tuple(sale_drafts(q, member, rules, now) + tier_drafts))


def _tender_lines(
    basket: Sequence[BasketLine],
    products: list[Product],
    res: PriceResult,
    packs: list[tuple[str | None, int]],
    member: MemberState | None,
    rules: Rules,
    tender: TenderRequest,
) -> list[QuoteLine]:
    total_paid = sum(res.paid)
    use_sv = min(member.stored_value, total_paid) if (member and tender.stored_value) else 0
    sv = spread(use_sv, res.paid)
    lines = []
    for i, (line, product) in enumerate(zip(basket, products)):
        rest = res.paid[i] - sv[i]
        pack = rules.punch_cards.get(line.sku)
        lines.append(QuoteLine(
            sku=line.sku, name=product.name, qty=line.qty, price=product.price, gross=res.gross[i],
            discount=res.discount[i], threshold=res.threshold[i], coupon=res.coupon[i],
            net=res.gross[i] - res.discount[i] - res.threshold[i] - res.coupon[i],
            visits_pack=packs[i][0], visits_used=packs[i][1], visits_fen=res.visits[i],
            points_used=res.points_used[i], points_fen=res.points_fen[i], stored_value=sv[i],
            cash=rest if tender.cash is not None else 0, external=0 if tender.cash is not None else rest,
            earned=res.earned[i], stocked=product.stock is not None,
            pack_bought=pack.id if pack else None, pack_visits=pack.visits * line.qty if pack else 0,
        ))
    return lines


def sale_drafts(q: Quote, member: MemberState | None, rules: Rules, now: dt.datetime) -> list[EventDraft]:
    """The sale event (first, so its id is the sale id), then one event per visit pack sold, per coupon used, and
    the birthday-bonus marker: small events of their own so later look-ups never search every past sale."""
    today = now.date()
    member_id = member.member_id if member else None
    visits: dict[str, int] = {}
    stock: dict[str, int] = {}
    packs = []
    for n, line in enumerate(q.lines):
        if line.visits_pack:
            visits[line.visits_pack] = visits.get(line.visits_pack, 0) - line.visits_used
        if line.pack_bought:
            days = rules.punch_cards[line.pack_bought].valid_days
            expires = (today + dt.timedelta(days=days)).isoformat() if days else None
            packs.append(EventDraft.of(VisitsSold(line.pack_bought, n, expires), member_id,
                                       {"visits": {line.pack_bought: line.pack_visits}}))
        if line.stocked:
            stock[line.sku] = stock.get(line.sku, 0) - line.qty
    deltas = {
        "points": q.total("earned") - q.total("points_used"),
        "stored_value": -q.total("stored_value"),
        "lifetime_spend": q.spend,
        "visits": {k: v for k, v in visits.items() if v},
        "stock": stock,
    }
    if member is None:
        deltas = {"stock": stock}
    sale = SaleCompleted(
        lines=tuple(SaleLine.of(line) for line in q.lines),
        coupons=q.coupons,
        cash_given=q.cash_given,
        change=q.change,
        day=today.isoformat(),
        tier=member.tier if member else None,
        birthday_bonus=q.birthday_bonus,
    )
    drafts = [EventDraft.of(sale, member_id, {k: v for k, v in deltas.items() if v}), *packs]
    drafts += [EventDraft.of(CouponRedeemed(code), member_id) for code in q.coupons]
    if q.birthday_bonus:
        drafts.append(EventDraft.of(BirthdayBonus(today.year, q.birthday_bonus), member_id))
    return drafts
