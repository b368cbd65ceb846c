"""Enrol this kiosk: the technician scans head office's QR code; nobody types. Refusals say why, on screen."""
from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import StringProperty

from drivers.events import Scanned, ScanRejected
from kiosk.ui.screens.base import KioskScreen

RESTART_DELAY = 1.5  # seconds "enrolled as ..." stays on screen before the kiosk starts selling


class EnrolScreen(KioskScreen):
    """Waits for an enrolment scan, checks it off the UI thread, then shows who the kiosk now is."""

    stage = StringProperty("waiting")  # waiting | checking | enrolled
    done_text = StringProperty("")

    def enter(self, **_: Any) -> None:
        """Ready for a scan."""
        super().enter()
        self.stage, self.done_text = "waiting", ""

    def on_device(self, event: Any, arrived: float) -> bool:
        """An enrolment code is checked; anything else scanned is answered with what to scan instead."""
        if self.stage != "waiting":
            return True
        match event:
            case Scanned(kind="enrolment", code=code):
                self.stage = "checking"
                self.call(lambda: self.app.enrol(code), self._enrolled, self._refused)
            case Scanned():
                self.message = self.app.t("enrol.not_a_token")
            case ScanRejected(reason=reason):
                self.message = f"{self.app.t('enrol.not_a_token')}: {reason}"
        return True

    def _enrolled(self, token: Any) -> None:
        self.stage = "enrolled"
        self.done_text = self.app.t("enrol.done", kiosk=token.kiosk, store=token.store)
        Clock.schedule_once(lambda _dt: self.app.finish(token), RESTART_DELAY)

    def _refused(self, exc: BaseException) -> None:
        """A refusal (code: expired, forged, reused, malformed) or a failure to reach head office."""
        self.stage = "waiting"
        code, detail = getattr(exc, "code", None), getattr(exc, "detail", str(exc))
        detail = detail[:1].upper() + detail[1:]
        key = f"enrol.refused.{code}" if code else "enrol.failed"
        self.message = self.app.t(key, detail=detail)


SCREEN = EnrolScreen
