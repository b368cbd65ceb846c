"""Staff log in on the customer's device: tap the staff card, or pick your name and type your PIN."""
from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.properties import StringProperty

from drivers.events import CardTapped
from kiosk.ui.screens.base import KioskScreen


class StaffLoginScreen(KioskScreen):
    """Sets app.staff and opens the staff home; the staff inactivity timeout logs out again."""

    staff_no = StringProperty("")  # the name picked, waiting for the PIN

    def enter(self, uid: str | None = None, **_: Any) -> None:
        """With a staff card's UID log in at once; otherwise list the staff to pick from."""
        super().enter()
        self.staff_no = ""
        self.ids.pin_pad.value = ""
        if uid:
            self.call(lambda: self.kiosk.staff.login_card(uid), self._logged_in)
        else:
            self.call(self.kiosk.staff.list, self._show_staff)

    def _show_staff(self, staff: list[Any]) -> None:
        self.ids.names.clear_widgets()
        for person in staff:
            button = Factory.KToggle(text=f"{person.name} ({person.staff_no})", group="staff-login")
            button.bind(on_release=lambda b, no=person.staff_no: setattr(self, "staff_no", no if b.state == "down" else ""))
            self.ids.names.add_widget(button)

    def on_device(self, event: Any, arrived: float) -> bool:
        """A card tapped here is taken as a staff card."""
        if not isinstance(event, CardTapped):
            return False
        self.call(lambda: self.kiosk.staff.login_card(event.uid), self._logged_in)
        return True

    def log_in(self) -> None:
        """Staff number (picked) + PIN; wrong PINs count towards the service's lock."""
        staff_no, pin = self.staff_no, self.ids.pin_pad.value
        self.ids.pin_pad.value = ""
        self.call(lambda: self.kiosk.staff.login_pin(staff_no, pin), self._logged_in)

    def _logged_in(self, staff: Any) -> None:
        self.app.staff = staff
        self.app.go("staff_home")


SCREEN = StaffLoginScreen
