"""`memberkiosk facts status|rebuild` on a kiosk's data directory."""
from __future__ import annotations

import json

from kiosk.cli import main
from tests.store.shop import open_shop, sell


def run(capsys, kiosk, *args: str) -> dict:
    assert main(["--data-dir", str(kiosk.data_dir), "facts", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_shows_what_is_pending_and_rebuild_writes_it(kiosk, capsys):
    open_shop(kiosk)
    sell(kiosk, 2)
    sell(kiosk)
    before = run(capsys, kiosk, "status")
    assert before["position"] == 0 and before["pending"] == 2 and before["rows"]["fact_sales"] == 0
    rebuilt = run(capsys, kiosk, "rebuild")
    assert rebuilt["events"] == before["end"] and rebuilt["rows"]["fact_sales"] == 2 and rebuilt["rows"]["fact_lines"] == 2
    after = run(capsys, kiosk, "status")
    assert after["pending"] == 0 and after["position"] == after["end"] == before["end"]
    assert run(capsys, kiosk, "rebuild")["rows"] == rebuilt["rows"]  # from zero again: the same rows
