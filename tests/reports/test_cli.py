"""`memberkiosk report` end to end through the installed command, on the demo seed with a few days of history."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from kiosk.cli import build_parser

from tests.conftest import _console_script


def test_reports_on_the_demo_data_through_the_command(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k != "MEMBERKIOSK_KIOSK_ID"}  # the demo's own id: demo-k1

    def cli(*args: str, check_rc: int = 0) -> subprocess.CompletedProcess:
        proc = subprocess.run([_console_script(), *args], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == check_rc, f"rc={proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
        proc.json = lambda: json.loads(proc.stdout)  # type: ignore[attr-defined]
        return proc

    assert "making 3 days of demo sales" in cli("demo", "--cli", "--demo-dir", str(demo), "--history", "3").stdout
    at = ("--data-dir", str(demo))
    days = cli(*at, "report", "sales", "--by", "day", "--from", "2000-01-01", "--json").json()
    assert days["totals"]["sales"] > 10 and days["totals"]["net"] == sum(r["net"] for r in days["rows"])
    chart, table = tmp_path / "rfm.png", tmp_path / "liability.csv"
    text = cli(*at, "report", "liability", "--csv", str(table), "--chart", str(chart)).stdout
    assert "积分负债 Points liability" in text and "未兑积分 Outstanding" in text
    rows = table.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "key,item,points,value" and rows[-1].startswith("outstanding,")
    with Image.open(chart) as image:
        assert image.size == (960, 540)


def test_a_bad_date_is_refused_with_the_format_to_use(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        build_parser().parse_args(["report", "sales", "--from", "2026-13-01"])
    assert exit.value.code == 2 and "write it as YYYY-MM-DD" in capsys.readouterr().err
