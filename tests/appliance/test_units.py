"""The systemd units are checked by systemd itself (OctoPi once shipped After=network.online.target: only a check catches
that): `systemd-analyze verify` for every unit, `systemd-analyze security` for every service, tmpfiles by tmpfiles."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
INSTALLED = "/opt/memberkiosk/current/bin/memberkiosk"
SERVICES = sorted(p.name for p in UNITS.glob("*.service"))
# The highest exposure `systemd-analyze security` may give (0 safe .. 10 unsafe). The kiosk keeps its devices and
# the network, so it scores higher than the batch units, which have neither.
MAX_EXPOSURE = {"memberkiosk.service": 2.0, "memberkiosk-hub.service": 1.2, "memberkiosk-web.service": 1.2,
                "memberkiosk-update.service": 0.8}  # the updater is root (0.4 of it) to write /opt and restart the kiosk
MAX_EXPOSURE_BATCH = 0.5
KIOSK_UID = 990


def _analyze() -> str:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    return analyze


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """systemd/ as installed (drop-in directories included), ExecStart pointing at this checkout's console script,
    which exists here, so verify can check it."""
    here = tmp_path / "units"
    shutil.copytree(UNITS, here)
    for service in here.glob("*.service"):
        text = service.read_text()
        assert INSTALLED in text, f"{service.name} must run {INSTALLED}"
        service.write_text(text.replace(INSTALLED, str(Path(sys.executable).parent / "memberkiosk")))
    return here


@pytest.mark.parametrize("unit", SERVICES + sorted(p.name for ext in ("timer", "path") for p in UNITS.glob(f"*.{ext}")))
def test_unit_passes_systemd_analyze_verify(unit: str, units: Path) -> None:
    result = subprocess.run([_analyze(), "verify", "--man=no", unit], cwd=units, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_every_timer_starts_a_shipped_service() -> None:
    for timer in UNITS.glob("*.timer"):
        assert (UNITS / timer.name.replace(".timer", ".service")).exists(), timer.name


@pytest.mark.parametrize("unit", SERVICES)
def test_service_exposure_stays_below_its_threshold(unit: str, units: Path) -> None:
    assert_exposure(unit, units, MAX_EXPOSURE.get(unit, MAX_EXPOSURE_BATCH))


def assert_exposure(unit: str, units: Path, limit: float) -> None:
    """`systemd-analyze security` of `unit` installed in `units` scores at most `limit`; else what is not hardened."""
    result = subprocess.run([_analyze(), "security", "--offline=yes", "--no-pager", unit], cwd=units,
                            capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    score = float(found.group(1))
    print(f"systemd-analyze security {unit}: exposure {score} (threshold {limit})")
    missing = "\n".join(line for line in result.stdout.splitlines() if line.startswith("✗"))
    assert score <= limit, f"{unit}: exposure {score} > {limit}; not hardened:\n{missing}"


def test_the_hardening_drop_in_reaches_every_other_service(units: Path) -> None:
    """memberkiosk-.service.d/ applies to memberkiosk-*.service only when installed beside them: without it a unit
    that relies on it is exposed, which the score above would catch."""
    for unit in SERVICES:
        if unit != "memberkiosk.service":
            assert "ProtectSystem" not in (UNITS / unit).read_text(), f"{unit}: its hardening is the drop-in's"
    assert "ProtectSystem=strict" in (UNITS / "memberkiosk-.service.d" / "50-hardening.conf").read_text()


def test_tmpfiles_creates_the_kiosk_dirs_with_their_owners_and_modes(tmp_path: Path) -> None:
    tmpfiles = shutil.which("systemd-tmpfiles")
    if tmpfiles is None:
        pytest.skip("systemd-tmpfiles is not installed on this machine")
    if os.geteuid() != 0:
        pytest.skip("giving the dirs to user kiosk takes root (CI runs as root)")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(f"root:x:0:0::/root:/bin/sh\nkiosk:x:{KIOSK_UID}:{KIOSK_UID}::/:/bin/false\n")
    (root / "etc" / "group").write_text(f"root:x:0:\nkiosk:x:{KIOSK_UID}:\n")
    result = subprocess.run([tmpfiles, f"--root={root}", "--create", str(UNITS / "memberkiosk.tmpfiles")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    for path, mode in (("var/lib/memberkiosk", 0o750), ("var/lib/memberkiosk/backups", 0o750),
                       ("etc/memberkiosk", 0o750), ("etc/memberkiosk/keys", 0o750)):
        st = (root / path).stat()
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, KIOSK_UID, KIOSK_UID), path
