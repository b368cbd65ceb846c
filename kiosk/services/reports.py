"""Reports at the kiosk: the facts caught up with the ledger first, then one read snapshot for the report, with the
catalog (live stock), rulebook and staff names the reports need from the documents and the store."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from core.analytics import AnalyticsSettings
from core.catalog import Product
from core.errors import NotFound
from core.rules import Rules
from kiosk.clock import Clock
from kiosk.followers.facts import FactsFollower
from kiosk.followers.runner import catch_up
from kiosk.reports import Inputs, Period, Report, run
from kiosk.reports.queries import MEMBER_REPORTS
from kiosk.reports.suggest import suggestions
from kiosk.services.pricing_data import load_catalog, load_rules
from kiosk.store import cursors
from kiosk.store import staff as staff_rows
from kiosk.store.db import Database

DEFAULT_DAYS = 30  # a report without --from covers the last 30 days; member analytics their RFM window
Progress = Callable[[int], None]  # called with the facts' new ledger position after each batch


class _Reporting:
    """The facts follower, telling `progress` how far it got after each batch."""

    def __init__(self, follower: FactsFollower, progress: Progress) -> None:
        self.follower, self.progress = follower, progress
        self.name, self.kiosk_id, self.types, self.batch = follower.name, None, follower.types, follower.batch

    def position(self) -> int:
        return self.follower.position()

    def handle(self, events: Any, upto: int) -> None:
        self.follower.handle(events, upto)
        self.progress(upto)

    def rewind(self) -> None:
        self.follower.rewind()


class ReportsService:
    """Runs reports on this kiosk's ledger database."""

    def __init__(self, db: Database, docs: Any, clock: Clock) -> None:
        self.db, self.docs, self.clock = db, docs, clock
        self._follower: FactsFollower | None = None

    @property
    def follower(self) -> FactsFollower:
        """The facts follower this service catches up (made on first use: it registers its cursor)."""
        if self._follower is None:
            self._follower = FactsFollower(self.db, self.clock)
        return self._follower

    def backlog(self) -> tuple[int, int]:
        """(facts position, ledger end): how far the facts are behind."""
        position = self.follower.position()
        with self.db.reading() as conn:
            return position, cursors.max_pos(conn)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Write the facts of every event committed since the last catch-up; returns how many events it read."""
        return catch_up(self.db, _Reporting(self.follower, progress) if progress else self.follower)

    def default_period(self, name: str, end: dt.date | None = None) -> Period:
        """The period a report covers when none is given: the RFM window for member analytics, else 30 days."""
        end = end or self.clock.today()
        if name in MEMBER_REPORTS:
            rules = self._rules()
            return Period.last((rules.analytics if rules else AnalyticsSettings()).window_days, end)
        return Period.last(DEFAULT_DAYS, end)

    def report(self, name: str, period: Period | None = None, store: str | None = None, by: str = "day",
               progress: Progress | None = None) -> Report:
        """The report `name` (kiosk.reports.NAMES) over `period` (default_period when None), facts caught up first."""
        self.catch_up(progress)
        period = period or self.default_period(name)
        inputs = self._inputs(need_catalog=name in ("stock", "sales"), period=period)
        with self.db.reading() as conn:
            return run(name, conn.cursor(), "?", period, store, inputs, by)

    def today(self) -> Report:
        """Today's sales hour by hour; its totals are the day's summary (sales, refunds, items, net)."""
        return self.report("sales", Period.last(1, self.clock.today()), by="hour")

    def recommendations(self, member_id: str, k: int = 3) -> list[Product]:
        """Up to k products bought together with what the member buys, none from their most recent sale."""
        self.catch_up()
        with self.db.reading() as conn:
            try:
                products = load_catalog(self.docs, conn)
            except NotFound:  # no catalog: nothing to suggest
                return []
            skus = suggestions(conn.cursor(), "?", member_id, set(products), k)
        return [products[sku] for sku in skus]

    def _rules(self) -> Rules | None:
        try:
            return load_rules(self.docs)
        except NotFound:  # reports that value nothing by the rules still run
            return None

    def _inputs(self, need_catalog: bool, period: Period) -> Inputs:
        with self.db.reading() as conn:
            try:
                products = load_catalog(self.docs, conn) if need_catalog else {}
            except NotFound:
                products = {}
            names = {no: name for no, name, _role in staff_rows.active(conn)}
        until = min(self.clock.now_ms(), self.clock.day_bounds(period.end)[1])  # open shifts count up to here
        return Inputs(products, self._rules(), names, until)
