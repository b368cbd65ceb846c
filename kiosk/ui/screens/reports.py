"""Today's reports for the manager on duty: sales by hour, members drifting away, and what the shop owes its members
in points and stored value, each with the chart `memberkiosk report --chart` draws."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.properties import ListProperty, ObjectProperty, StringProperty

from core.errors import KioskError, NotFound
from core.members import mask_phone
from kiosk.reports import Period, Report, charts
from kiosk.reports.output import cell
from kiosk.ui.screens.base import KioskScreen

OUTSTANDING = "outstanding"  # the balance reports' row of what the shop owes at the end of the day
REPORTS = {"at_risk": ("at-risk",), "liability": ("liability", "stored-value")}  # tab -> report names besides today's


@dataclass(frozen=True)
class AtRisk:
    """One member drifting away as the manager sees them: the name (or ''), the masked phone, days away, usual gap."""

    name: str
    phone: str
    gap: int
    usual: int


@dataclass(frozen=True)
class Today:
    """What the screen shows, computed on the worker: each tab's reports and the at-risk members."""

    day: str
    reports: dict[str, tuple[Report, ...]]
    at_risk: tuple[AtRisk, ...]

    def charted(self, tab: str) -> tuple[Report, ...]:
        """The tab's reports worth a chart: none before the first sale of the day, or with nobody at risk."""
        found = self.reports[tab]
        if tab == "sales" and not has_sales(found[0]) or tab == "at_risk" and not self.at_risk:
            return ()
        return tuple(r for r in found if r.chart is not None)


def in_lang(label: str, lang: str) -> str:
    """One language of a report's bilingual label ('实收 Net': the Chinese first, then the English)."""
    zh, _, en = label.partition(" ")
    return zh if lang == "zh_CN" or not en else en


def has_sales(report: Report) -> bool:
    """True once today has a sale or a refund: before that the screen says so instead of drawing empty charts."""
    return bool(report.totals.get("sales") or report.totals.get("refunds"))


class ReportsScreen(KioskScreen):
    """Managers only; the reports and their charts are computed off the UI thread and drawn when they arrive."""

    tab = StringProperty("sales")
    day = StringProperty("")
    today = ObjectProperty(None, allownone=True)  # Today, None while it is being computed
    shown_charts = ListProperty([])  # the textures of the shown tab's charts
    _textures: dict[str, list[Any]] = {}  # tab -> its charts, drawn when the tab is first shown

    def enter(self, **_: Any) -> None:
        """Check the role, then compute today's reports off the UI thread."""
        super().enter()
        self.today, self.tab, self.day, self._textures = None, "sales", "", {}
        try:
            self.app.staff.require("manager")
        except KioskError as exc:
            self.show_error(exc)
            return
        self.call(self._compute, self._computed)

    def _compute(self) -> Today:
        """Worker thread: the reports (the facts catch up first), the at-risk members' names, the charts' PNGs."""
        service = self.app.reports
        sales = service.today()
        reports = {"sales": (sales,)}
        for tab, names in REPORTS.items():
            reports[tab] = tuple(service.report(name, self._period(service, name)) for name in names)
        return Today(service.clock.today().isoformat(), reports, tuple(self._at_risk(reports["at_risk"][0])))

    @staticmethod
    def _period(service: Any, name: str) -> Period:
        """Member analytics over their window up to today; balances as they stand at the end of today."""
        today = service.clock.today()
        return service.default_period(name, today) if name == "at-risk" else Period.last(1, today)

    def _at_risk(self, report: Report) -> list[AtRisk]:
        found = []
        for row in report.records():
            try:
                member = self.kiosk.members.get(row["member"]).member
                name, phone = member.name or "", mask_phone(member.phone)
            except NotFound:  # erased since their last visit: the gap still counts, the person is gone
                name, phone = "", mask_phone(None)
            found.append(AtRisk(name, phone, row["gap"], row["usual_gap"]))
        return found

    def _computed(self, today: Today) -> None:
        self.day, self.today = today.day, today

    def _draw(self, today: Today, tab: str) -> None:
        """Render the tab's charts off the UI thread (matplotlib takes a good part of a second for each)."""
        self._textures[tab] = []
        reports = today.charted(tab)
        if not reports:
            return

        def drawn(pngs: list[bytes]) -> None:
            if self.today is today:  # not a chart of an earlier visit
                self._textures[tab] = [CoreImage(io.BytesIO(png), ext="png").texture for png in pngs]
                self._render()

        self.app.tasks.run(lambda: [charts.render(r) for r in reports], drawn, self.show_error)

    # -- drawing ----------------------------------------------------------------------------------------------
    def on_kv_post(self, _base: Any) -> None:
        """Redraw when the reports arrive, the tab changes or the language switches."""
        self.bind(today=self._render, tab=self._render)
        self.app.bind(lang=self._render, large_type=self._render)

    def _render(self, *_args: Any) -> None:
        box = self.ids.lines
        box.clear_widgets()
        size = self.app.fs(20, self.app.large_type)
        for text, heading in self.lines(self.today, self.tab, self.app.lang):
            box.add_widget(Factory.KLabel(text=text, bold=heading, font_size=size))
        box.add_widget(Factory.Widget())  # keeps the lines at the top of the panel
        if self.today is not None and self.tab not in self._textures:
            self._draw(self.today, self.tab)
        self.shown_charts = self._textures.get(self.tab, []) if self.today is not None else []
        self.ids.charts.clear_widgets()
        for texture in self.shown_charts:
            self.ids.charts.add_widget(Factory.Image(texture=texture, fit_mode="contain"))

    def lines(self, today: Today | None, tab: str, lang: str) -> list[tuple[str, bool]]:
        """(text, is a heading) beside the charts: the day's totals, the members at risk, or what the shop owes."""
        t = self.app.t
        if today is None:
            return [] if self.message else [(t("reports.loading"), False)]
        if tab == "at_risk":
            return [(t("reports.at_risk_row", name=m.name, phone=m.phone, gap=m.gap, usual=m.usual), False)
                    for m in today.at_risk] or [(t("reports.no_at_risk"), False)]
        if tab == "sales":
            sales = today.reports["sales"][0]
            if not has_sales(sales):
                return [(t("reports.no_sales"), False)]
            return [(f"{in_lang(c.label, lang)}  {cell(c, sales.totals[c.key])}", c.key == "net")
                    for c in sales.columns if c.key in sales.totals]
        return [line for report in today.reports[tab] for line in self._items(report, lang)]

    @staticmethod
    def _items(report: Report, lang: str) -> list[tuple[str, bool]]:
        """A balance report under its title: what is outstanding first (what the shop owes), then how it moved."""
        columns = [c for c in report.columns if c.key not in ("key", "item")]
        rows = sorted(report.records(), key=lambda row: row["key"] != OUTSTANDING)
        return [(in_lang(report.title, lang), True)] + [
            (f"{in_lang(row['item'], lang)}  {'  '.join(cell(c, row[c.key]) for c in columns)}",
             row["key"] == OUTSTANDING) for row in rows]


SCREEN = ReportsScreen
