"""What every screen shares: the app's services, running calls off the UI thread, and showing errors."""
from __future__ import annotations

from typing import Any, Callable

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from core.events import CUSTOMER


class KioskScreen(Screen):
    """A screen module's class; `enter` receives the context, `on_device` sees device events first."""

    message = StringProperty("")  # the last error or notice, in the current language

    @property
    def app(self) -> Any:
        """The running KioskApp."""
        return App.get_running_app()

    @property
    def kiosk(self) -> Any:
        """The application services (members, sales, staff); screens never reach a driver."""
        return self.app.kiosk

    @property
    def operator(self) -> str:
        """Who acts, for the ledger: the logged-in staff member's number, else the customer at the screen."""
        staff = self.app.staff
        return staff.staff_no if staff is not None else CUSTOMER

    def rules(self) -> Any:
        """The rulebook the sales service prices with (worker thread: it may re-read the documents file)."""
        return self.app.sales.docs.current()[0]

    def enter(self, **context: Any) -> None:
        """Prepare to be shown with `context` (a member, a sale); clears what the last visit left."""
        self.message = ""

    def on_device(self, event: Any, arrived: float) -> bool:
        """Handle a device event while on show; False lets the app route it (a card tap opens the member)."""
        return False

    def call(self, work: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[BaseException], None] | None = None) -> None:
        """Run a service call off the UI thread; its result or error comes back on the UI thread."""
        self.message = ""
        self.app.tasks.run(work, done, failed or self.show_error)

    def show_error(self, exc: BaseException) -> None:
        """Tell the person what went wrong and what to do next."""
        self.message = self.app.error_text(exc)
