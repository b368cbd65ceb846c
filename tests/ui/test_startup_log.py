"""The demo and the appliance's kiosk command start with a clean log: no traceback, no ERROR or CRITICAL line
(Kivy's input providers used to log one for a missing libmtdev.so.1)."""
from __future__ import annotations

import re
from pathlib import Path

from tests.ui.process import run_until_started


def assert_clean(log: str) -> None:
    """No traceback and no ERROR or CRITICAL line, from Kivy ([ERROR ] [Input ] ...) or from our logging."""
    bad = [line for line in log.splitlines()
           if "Traceback" in line or re.match(r"\s*(\[\s*(ERROR|CRITICAL)\b|(ERROR|CRITICAL) )", line)]
    assert not bad, log


def test_demo_starts_without_a_traceback(tmp_path: Path) -> None:
    _code, log = run_until_started(["demo", "--demo-dir", str(tmp_path / "demo")], {})
    assert "Start application main loop" in log
    assert_clean(log)


def test_kiosk_full_screen_with_touch_input_starts_without_a_traceback(tmp_path: Path) -> None:
    _code, log = run_until_started(["--data-dir", str(tmp_path / "data"), "kiosk"], {"MEMBERKIOSK_KIOSK_ID": "k9"})
    assert_clean(log)
