"""`memberkiosk devices` and `memberkiosk receipt reprint|preview` through the installed console script."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from kiosk.app import Kiosk
from tests.drivers.test_preview import ARTIFACTS
from tests.drivers.tcp_printer import LoopbackPrinter


@pytest.fixture
def loopback():
    printer = LoopbackPrinter()
    yield printer
    printer.close()


def save_devices(data_dir, devices: dict) -> None:
    with Kiosk.open(data_dir, kiosk_id="k9") as kiosk:  # the id the cli fixture gives
        kiosk.docs.table("devices").insert(devices)


def test_devices_reports_real_reader_and_printer_health(cli, pcscd, loopback):
    save_devices(cli.data_dir, {
        "card": {"type": "pcsc", "reader": "Virtual PCD 00 00"},
        "printer": {"type": "escpos", "transport": "network", "host": "127.0.0.1", "port": loopback.port},
    })
    out = cli("devices", "--json").json()
    assert out["configured"]["card"]["state"] == "ok" and "Virtual PCD 00 00" in out["configured"]["card"]["reason"]
    assert out["configured"]["printer"] == {"config": {"type": "escpos", "transport": "network", "host": "127.0.0.1",
                                                       "port": loopback.port}, "state": "ok", "reason": "ready"}
    assert "Virtual PCD 00 00" in out["seen"]["card readers"]


def test_devices_exits_1_naming_what_is_wrong(cli, tmp_path):
    config = tmp_path / "devices.json"
    config.write_text(json.dumps({"scanner": {"type": "serial", "port": str(tmp_path / "ttyNone")}}))
    proc = cli("devices", "--config", str(config), check_rc=1)
    assert "scanner" in proc.stdout and "gone" in proc.stdout and "ttyNone" in proc.stdout
    config.write_text(json.dumps({"printer": {"type": "laser"}}))
    proc = cli("devices", "--config", str(config), check_rc=2)
    assert "printer type 'laser' is unknown" in proc.stderr


def test_receipt_preview_and_reprint_now(cli, loopback, tmp_path):
    from core.quote_input import BasketLine, TenderRequest
    from kiosk.demo.pricing import seed_pricing

    save_devices(cli.data_dir, {"printer": {"type": "escpos", "transport": "network", "host": "127.0.0.1",
                                            "port": loopback.port, "paper": "80mm"}})
    with Kiosk.open(cli.data_dir) as kiosk:
        seed_pricing(kiosk)
        sale = kiosk.sales.checkout(None, [BasketLine("TEA-500", 1)], tender=TenderRequest(cash=500))
    number = f"k9-{sale.events[0].seq}"  # the 单号 on the receipt

    out = tmp_path / "sale.png"
    assert cli("receipt", "preview", number, str(out), "--columns", "48", "--json").json()["png"] == str(out)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > 500

    assert cli("receipt", "reprint", number, "--now", "--wait", "10", "--json").json()["printed"] is True
    [reprint] = loopback.wait_jobs(1)  # the kiosk never ran here: only the reprint was queued
    assert "重印 REPRINT".encode("gb18030") in reprint and number.encode() in reprint

    proc = cli("receipt", "reprint", "S404", check_rc=2)
    assert "S404" in proc.stderr


def test_committed_sale_prints_and_previews_through_the_cli(cli, loopback, tmp_path):
    from core.quote_input import BasketLine, TenderRequest
    from tests.pricing.conftest import CATALOG, DEMO

    save_devices(cli.data_dir, {"printer": {"type": "escpos", "transport": "network", "host": "127.0.0.1",
                                            "port": loopback.port}})
    with Kiosk.open(cli.data_dir) as kiosk:
        sales = kiosk.sales
        sales.load_rules((DEMO / "rules.toml").read_text(encoding="utf-8"))
        sales.load_catalog(CATALOG)
        sale = sales.checkout(None, [BasketLine("TEA-500", 2)], tender=TenderRequest(cash=10_000))
    out = ARTIFACTS / "receipt-committed-sale.png"
    cli("receipt", "preview", sale.sale_id, str(out))
    assert out.stat().st_size > 5000
    assert cli("receipt", "reprint", sale.sale_id, "--now", "--json").json()["printed"] is True
    [job] = loopback.wait_jobs(1)
    assert f"{sale.events[0].kiosk_id}-{sale.events[0].seq}".encode() in job and "应付".encode("gb18030") in job and "找零".encode("gb18030") in job
