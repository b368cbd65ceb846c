"""The foundation's commands through the installed console script, as a technician would run them."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kiosk.cli import build_parser, main

MANAGER = ("--staff", "M01")  # money-moving commands name who acts; the PIN comes on stdin
PIN = "888888\n"


def _manager(cli) -> None:
    """The kiosk's first manager: added with no one to vouch for them (its PIN is stdin's line)."""
    cli("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)


def _command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _command_paths(sub, prefix + (name,))
    return found


def test_every_command_answers_help(cli, capsys) -> None:
    paths = _command_paths(build_parser())
    assert len(paths) > 30 and ("members", "add") in paths and ("receipt", "preview") in paths
    for path in paths:
        with pytest.raises(SystemExit) as done:
            main([*path, "--help"])
        assert done.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: memberkiosk {' '.join(path)}".rstrip())
    assert "usage: memberkiosk" in cli("--help").stdout  # and through the installed console script


def test_register_find_topup_history(cli) -> None:
    added = cli("members", "add", "--phone", "13800138000", "--name", "张三", "--card", "04a1b2c3",
                "--birthday", "1990-05-17", "--consent", "--json").json()
    member_id = added["member_id"]
    assert member_id == "k9-000001" and added["cards"] == [{"uid": "04A1B2C3", "status": "active"}]
    text = cli("members", "find", "--card", "04A1B2C3").stdout
    assert "138****8000" in text and "13800138000" not in text and "¥0.00" in text
    _manager(cli)
    assert cli("topup", member_id, "99.9", "--json", *MANAGER, input=PIN).json()["credited_fen"] == 9990
    assert cli("--json", "members", "find", "--phone", "13800138000").json()["stored_value_fen"] == 9990
    history = cli("members", "history", member_id, "--json").json()
    assert [e["type"] for e in history] == ["stored_value.topped_up", "card.linked", "member.registered"]
    assert history[0]["operator"] == "M01"
    assert "stored_value ¥99.90" in cli("members", "history", member_id).stdout


def test_errors_are_clear_and_write_nothing(cli) -> None:
    cli("members", "add", "--phone", "13800138000", "--consent")
    dup = cli("members", "add", "--phone", "13800138000", "--consent", check_rc=2)
    assert "already registered" in dup.stderr
    assert "not a mainland China mobile" in cli("members", "add", "--phone", "123", "--consent", check_rc=2).stderr
    assert "privacy notice" in cli("members", "add", "--phone", "13800138001", check_rc=2).stderr
    assert "not an amount" in cli("topup", "k9-000001", "12.345", *MANAGER, input=PIN, check_rc=2).stderr
    assert "no member" in cli("members", "find", "--id", "k9-000404", check_rc=2).stderr
    assert len(cli("export", "--json").json()) == 1


def test_import_reports_bad_lines_and_imports_the_rest_atomically(cli, tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(
        "phone,name,birthday,gender,card,stored_value\n"
        "13800000001,甲,1990-01-01,女,04000001,100.50\n"
        "12345,乙,,,,\n"
        "13800000002,丙,1990-13-01,,,\n"
        "13800000003,丁,,男,04000003,\n"
        "13800000001,重复,,,,\n"
        "13800000004,戊,,,04000001,\n"
        "13800000005,己,,,,abc\n",
        encoding="utf-8",
    )
    result = cli("import", str(csv), "--json", check_rc=1).json()
    assert result["imported"] == 2
    assert [e["line"] for e in result["errors"]] == [3, 4, 6, 7, 8]
    assert "not a mainland China mobile" in result["errors"][0]["error"]
    exported = cli("export").stdout.splitlines()
    assert exported[0].startswith("member_id,phone,name")
    assert any(",甲,1990-01-01,F,04000001,普通,0,100.50," in row for row in exported)
    assert "line 3:" in cli("import", str(csv), check_rc=1).stdout  # re-import: all refused, nothing doubled
    assert len(cli("export", "--json").json()) == 2


def test_verify_backup_restore(cli, tmp_path: Path) -> None:
    assert "no store at" in cli("verify", check_rc=2).stderr
    assert cli("verify", "--if-present").stdout.startswith("no store yet")  # the unit's check before enrolment
    cli("members", "add", "--phone", "13800138000", "--consent")
    _manager(cli)
    cli("topup", "k9-000001", "10", *MANAGER, input=PIN)
    assert cli("verify").stdout.startswith("store intact")
    archive = tmp_path / "b.tar.gz"
    cli("backup", str(archive))
    cli("topup", "k9-000001", "5", *MANAGER, input=PIN)
    assert "restored" in cli("restore", str(archive), *MANAGER, input=PIN).stdout
    assert cli("members", "find", "--id", "k9-000001", "--json").json()["stored_value_fen"] == 1000
    ledger = cli.data_dir / "ledger.sqlite"
    ledger.write_bytes(ledger.read_bytes().replace(b'{"stored_value":1000}', b'{"stored_value":9000}'))
    bad = cli("verify", "--json", check_rc=3).json()
    assert bad["ok"] is False and "checksum mismatch" in bad["problems"][0]


def test_demo_walks_through_seeded_data(cli, tmp_path: Path) -> None:
    out = cli("demo", "--cli", "--demo-dir", str(tmp_path / "demo")).stdout
    assert "张伟 taps card 04A1B2C3" in out and "store intact" in out


def test_staff_accounts_and_clock_list(cli) -> None:
    _manager(cli)
    cli("staff", "add", "C01", "收银 李", *MANAGER, input=PIN + "000000\n")
    assert "already" in cli("staff", "add", "C01", "x", *MANAGER, input=PIN + "000000\n", check_rc=2).stderr
    assert cli("staff", "list", "--json").json()[0] == {"staff_no": "C01", "name": "收银 李", "role": "cashier"}
    cli("staff", "clock", "in", "C01", input="000000\n")
    assert "wrong PIN" in cli("staff", "clock", "out", "C01", input="999999\n", check_rc=2).stderr
    cli("staff", "clock", "out", "C01", input="000000\n")
    assert [e["in"] for e in cli("staff", "clock-list", "--json").json()] == [True, False]


def test_topup_applies_the_shops_bracket_once_rules_are_loaded(cli) -> None:
    cli("members", "add", "--phone", "13800138000", "--consent")
    _manager(cli)
    before_rules = cli("topup", "k9-000001", "1000", "--json", *MANAGER, input=PIN).json()
    assert before_rules["credited_fen"] == 100_000  # no rules: no bonus
    rules = Path(__file__).resolve().parents[2] / "kiosk" / "demo" / "rules.toml"
    cli("rules", "load", str(rules))
    after = cli("topup", "k9-000001", "1000", "--json", *MANAGER, input=PIN).json()
    assert after["credited_fen"] == 120_000  # 充1000送200
    assert after["member"]["stored_value_fen"] == 220_000
