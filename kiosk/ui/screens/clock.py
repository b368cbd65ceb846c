"""Clock in / clock out (考勤打卡) for the logged-in staff member, with today's list for everyone."""
from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty

from kiosk.ui.screens.base import KioskScreen


class ClockScreen(KioskScreen):
    """The daily list starts at local midnight of the kiosk's clock."""

    entries = ListProperty([])  # (time, name, in/out) of today

    def enter(self, **_: Any) -> None:
        """Load today's list."""
        super().enter()
        self.entries = []
        self.refresh()

    def refresh(self) -> None:
        """Today's clock-ins and clock-outs, with names."""
        def work() -> list[tuple[str, str, bool]]:
            clock = self.kiosk.clock
            names = {s.staff_no: s.name for s in self.kiosk.staff.list()}
            return [(f"{clock.local(e.ts):%H:%M}", names.get(e.staff_no, e.staff_no), e.clocked_in)
                    for e in self.kiosk.staff.clock_list(clock.today())]

        self.call(work, lambda entries: setattr(self, "entries", entries))

    def punch(self, clocking_in: bool) -> None:
        """Clock the logged-in staff member in or out (twice in a row is refused by the service)."""
        staff = self.app.staff
        self.call(lambda: self.kiosk.staff.punch(staff, clocking_in), lambda _event: self.refresh())

    def listing(self, entries: list[tuple[str, str, bool]], _lang: str) -> str:
        """The daily list as text lines."""
        t = self.app.t
        return "\n".join(f"{time}  {name}  {t('clock.in' if is_in else 'clock.out')}" for time, name, is_in in entries) or t("clock.none")


SCREEN = ClockScreen
