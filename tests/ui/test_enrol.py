"""The enrol screen of a kiosk with no identity: a technician scans head office's QR code with the kiosk's own
scanner (the simulator here), bad codes are refused with the reason on screen, a good one enrols the kiosk
against the real broker and hub desk and says who it now is."""
from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kivy.core.window import Window

from kiosk.ui.enrol_app import EnrolApp
from mqtt.fleet import signing
from mqtt.fleet.enrol_kiosk import Place, enrol as enrol_kiosk
from tests.fleet.conftest import fleet_broker  # noqa: F401
from tests.fleet.enrol.conftest import desk, hub_url, make_token, operator, place  # noqa: F401
from tests.ui.harness import UI


@pytest.fixture
def fleet(request: pytest.FixtureRequest) -> SimpleNamespace:
    """The enrolment fixtures of tests/fleet/enrol (a real broker, head office's desk, tokens), for this UI test."""
    return SimpleNamespace(**{name: request.getfixturevalue(name) for name in ("make_token", "place", "operator", "desk")})


@pytest.fixture
def enrol_ui(window, shots) -> Iterator[Callable[[Callable[[str], Any]], UI]]:
    """Start the enrol app on the shared window; `app.finished` records the restart instead of stopping Kivy."""
    started: list[UI] = []

    def start(enrol_with: Callable[[str], Any]) -> UI:
        Window.size = (1024, 600)
        app = EnrolApp(enrol_with)
        app.finished = []
        app.quit_now = lambda: app.finished.append(app.enrolled)  # the command would exec itself here
        app._run_prepare()
        ui = UI(app, shots)
        ui.until(lambda: tuple(app.root.size) == (1024, 600), "the window size")
        ui.step(2)
        started.append(ui)
        return ui

    yield start
    for ui in started:
        ui.until(lambda: not ui.app.tasks.busy, "the enrolment call to finish")
        ui.app.dispatch("on_stop")
        Window.remove_widget(ui.app.root)
        ui.step()


def test_enrol_screen_refuses_bad_codes_with_reasons_then_enrols(enrol_ui, fleet: SimpleNamespace) -> None:
    token, spot = fleet.make_token, fleet.place
    pinned = signing.fingerprint(fleet.operator.public_key())
    base: Place = spot("fresh")
    here = Place(base.config_file, base.key_dir, pinned)
    ui = enrol_ui(lambda text: enrol_kiosk(text, here))
    app = ui.app
    assert ui.shows("登记这台收银机")
    ui.shot("1_waiting_zh")
    app.lang = "en"

    def scan(text: str) -> None:
        app.scanner.scan(text)
        ui.settle()

    scan("96385074")
    assert ui.shows("That is not an enrolment code")
    scan(token(kiosk="shop1-k2", now=int(time.time() * 1000) - 7_200_000))
    assert ui.shows("Refused: this enrolment code has expired") and ui.shows("min ago")
    ui.shot("2_expired")
    scan(token(kiosk="shop1-k2", key=Ed25519PrivateKey.generate()))
    assert ui.shows("Refused: this enrolment code is not genuine") and ui.shows("fingerprint")
    ui.shot("3_forged")
    used = token(kiosk="shop1-k2")
    enrol_kiosk(used, spot("elsewhere"))  # another machine scanned it first
    scan(used)
    assert ui.shows("Refused: this enrolment code was already used") and ui.shows("shop1-k2 of shop1")
    ui.shot("4_reused")
    assert not here.config_file.exists()

    scan(token(kiosk="shop1-k2"))
    ui.until(lambda: ui.screen.stage == "enrolled", "enrolled")
    assert ui.shows("Enrolled as shop1-k2 of shop1") and ui.screen.message == ""
    ui.shot("5_enrolled")
    ui.until(lambda: app.finished, "the restart into selling", bound=5)
    assert app.finished[0].kiosk == "shop1-k2" and "shop1-k2" in here.config_file.read_text()
