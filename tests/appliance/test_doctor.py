"""`memberkiosk doctor` on a healthy and on a broken kiosk, and `memberkiosk logs` without a journal."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

CHECKS = {"config", "data dir", "key dir", "store", "device card", "device scanner", "device printer", "broker",
          "clock", "disk", "pricing"}


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def kiosk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Simulated devices in the kiosk's config file, and a clock that timedatectl reports synchronised."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "timedatectl"
    fake.write_text("#!/bin/sh\necho yes\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "kiosk.toml"
    config.write_text('[devices]\ncard = {type = "sim"}\nscanner = {type = "sim"}\nprinter = {type = "sim"}\n')
    monkeypatch.setenv("MEMBERKIOSK_CONFIG", str(config))
    return config


def _report(cli, rc: int) -> dict[str, dict]:
    out = cli("doctor", "--json", check_rc=rc).json()
    assert {"status", "checks", "pricing_engine", "native_available", "reason"} <= set(out)
    return {c["check"]: c for c in out["checks"]}


def test_a_healthy_kiosk_passes_every_check(cli, kiosk_env):
    cli("members", "add", "--phone", "13800138000", "--name", "张三", "--consent")
    checks = _report(cli, 0)
    assert set(checks) == CHECKS
    assert all(c["status"] == "ok" and c["fix"] == "" for c in checks.values()), checks
    assert "simulated: ok" in checks["device printer"]["found"]


def test_a_broken_kiosk_names_each_fault_and_its_fix(cli, kiosk_env, key_dir, monkeypatch):
    cli("members", "add", "--phone", "13800138000", "--name", "张三", "--consent")
    ledger = cli.data_dir / "ledger.sqlite"
    raw = bytearray(ledger.read_bytes())
    at = raw.index(b'"consent_at":', raw.index(b"member.registered")) + len(b'"consent_at":')
    raw[at] = ord("1") if raw[at] != ord("1") else ord("2")  # one digit of the registration event's row, in place
    ledger.write_bytes(bytes(raw))
    (key_dir / "audit.key").chmod(0o644)
    os.chmod(cli.data_dir, 0o755)
    monkeypatch.setenv("MEMBERKIOSK_BROKER", f"mqtt://127.0.0.1:{_closed_port()}")
    kiosk_env.write_text(kiosk_env.read_text().replace(
        'printer = {type = "sim"}', f'printer = {{type = "escpos", transport = "network", host = "127.0.0.1", '
                                    f'port = {_closed_port()}, timeout = 1}}'))
    checks = _report(cli, 2)
    faults = {name for name, c in checks.items() if c["status"] == "fault"}
    assert faults == {"store", "data dir", "key dir", "broker", "device printer"}, checks
    assert all(checks[name]["fix"] for name in faults)
    assert "checksum mismatch" in checks["store"]["found"] and "memberkiosk restore" in checks["store"]["fix"]
    assert "audit.key 0644" in checks["key dir"]["found"] and "chmod 0600" in checks["key dir"]["fix"]
    assert "chmod 0750" in checks["data dir"]["fix"]
    assert "cannot reach mqtt://127.0.0.1:" in checks["broker"]["found"]
    assert "memberkiosk devices" in checks["device printer"]["fix"]
    text = cli("doctor", check_rc=2).stdout
    assert text.count("FAULT") == 5 and text.count("fix: ") == 5 and "5 fault(s)" in text


def test_clock_and_disk_warnings(cli, kiosk_env, tmp_path, tiny_disk, monkeypatch):
    (tmp_path / "bin" / "timedatectl").write_text("#!/bin/sh\necho no\n")
    checks = {c["check"]: c for c in cli("doctor", "--json", "--data-dir", str(tiny_disk), check_rc=2).json()["checks"]}
    assert checks["clock"]["status"] == "warn" and "not NTP-synchronised" in checks["clock"]["found"]
    assert checks["disk"]["status"] == "fault" and "below" in checks["disk"]["found"]
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "timedatectl is not installed" in cli("doctor", "--data-dir", str(tiny_disk), check_rc=2).stdout
    monkeypatch.undo()  # umount, at teardown, is on the PATH again


def test_logs_without_journalctl_says_so(cli, kiosk_env, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    proc = cli("logs", "--since", "1 hour ago", check_rc=2)
    assert "journalctl is not installed" in proc.stderr


def test_logs_reads_the_unit_journal(cli, kiosk_env, tmp_path):
    fake = tmp_path / "bin" / "journalctl"
    fake.write_text('#!/bin/sh\nif [ "$2" = kiosk-x ]; then echo "$@"; fi\n')
    fake.chmod(0o755)
    out = cli("logs", "--unit", "kiosk-x", "--since", "2026-11-23 08:00", "--lines", "5").stdout
    assert out.strip() == "-u kiosk-x --since 2026-11-23 08:00 -o short-iso --no-pager -q -n 5"
    assert "no journal entries for unit memberkiosk" in cli("logs").stdout

