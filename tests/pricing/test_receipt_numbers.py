"""The 单号 on a receipt is short enough to type, and every sale command accepts it; the receipt carries the e-card QR."""
from __future__ import annotations

from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "kiosk" / "demo"
STAFF, PIN = ("--staff", "M01"), "888888\n"  # the manager who sells and refunds; the PIN on stdin, never in argv


def test_short_sale_number_works_for_preview_and_refund(cli, tmp_path: Path) -> None:
    cli("staff", "add", "M01", "店长 陈", "--role", "manager", input=PIN)
    cli("rules", "load", str(DEMO / "rules.toml"))
    cli("catalog", "load", str(DEMO / "catalog.csv"))
    member = cli("members", "add", "--phone", "13800138000", "--consent", "--json").json()["member_id"]
    sale = cli("checkout", "--member", member, "--sku", "TEA-500:2", "--sku", "MILK-1L", "--cash", "50", "--json",
               *STAFF, input=PIN).json()
    kiosk, _, seq = sale["sale_no"].rpartition("-")
    assert kiosk == "k9" and seq.isdigit()  # KIOSK-SEQ of the sale's first event
    for ref in (sale["sale_no"], seq):  # on its own kiosk the sequence number alone will do
        png = tmp_path / f"{ref}.png"
        cli("receipt", "preview", ref, str(png))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = str(int(seq) - 1)  # the member's registration: an event, not a sale
    assert f"no sale numbered {before}" in cli("receipt", "preview", before, str(png), check_rc=2).stderr
    refund = cli("refund", sale["sale_no"], "--line", "2", "--json", *STAFF, input=PIN).json()
    assert refund["lines"] == [1] and refund["sale"] == sale["sale_id"]
    assert "no sale numbered k9-999" in cli("refund", "k9-999", *STAFF, input=PIN, check_rc=2).stderr


def test_receipt_has_short_number_store_name_and_no_member_qr(tmp_path: Path) -> None:
    from core.quote_input import BasketLine, TenderRequest
    from kiosk.app import Kiosk
    from kiosk.demo.seed import seed
    from kiosk.services.receipts import Receipts
    from kiosk.store.documents import replace_table

    with Kiosk.open(tmp_path, kiosk_id="k2") as kiosk:
        seed(kiosk)
        replace_table(kiosk.docs, "settings", [{"store_name": "鲜果超市"}])
        member = kiosk.members.by_card("04A1B2C3").member.member_id
        sale = kiosk.sales.checkout(member, [BasketLine("TEA-500", 1)], tender=TenderRequest(cash=1000))
        receipts = Receipts(kiosk.db, kiosk.who, kiosk.docs, kiosk.clock)
        receipt = receipts.for_sale(sale.sale_id)
        assert receipt.sale_no == f"k2-{sale.events[0].seq}"
        assert receipt.store_name == "鲜果超市"
        assert receipt.qr_payload is None  # a receipt lives for days; the member e-card code lives two minutes
        assert receipt.member_no == member
        assert receipts.for_sale(receipt.sale_no) == receipt
