"""The systemd units are checked by systemd itself (OctoPi once shipped After=network.online.target: only a check catches that)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
INSTALLED = "/opt/memberkiosk/.venv/bin/memberkiosk"


@pytest.mark.parametrize("unit", sorted(p.name for p in UNITS.glob("*.service")))
def test_unit_passes_systemd_analyze_verify(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    text = (UNITS / unit).read_text()
    assert INSTALLED in text
    # point ExecStart at this checkout's console script, which exists here, so verify can check it
    (tmp_path / unit).write_text(text.replace(INSTALLED, str(Path(sys.executable).parent / "memberkiosk")))
    result = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
