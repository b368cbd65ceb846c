"""A realistic committed-sale receipt for printer, queue and preview tests."""
from __future__ import annotations

import datetime as dt

from core.barcodes import coupon_payload
from core.receipt import Receipt, ReceiptLine, Tender


def sample_receipt(sale_no: str = "S20261123-0042") -> Receipt:
    """Chinese names, a full-width-symbol-only item, member prices, a discount, mixed tenders and change."""
    return Receipt(
        store_name="鲜果时光便利店",
        sale_no=sale_no,
        time=dt.datetime(2026, 11, 23, 9, 30, 5),
        lines=(
            ReceiptLine("可口可乐 330ml", 2, 350, 600, member_price=300),
            ReceiptLine("Organic Bananas 1kg", 1, 1280, 1180, discount=100),
            ReceiptLine("（VIP）", 1, 3000, 3000),
        ),
        subtotal=4980,
        discount_total=200,
        total=4780,
        tenders=(Tender("储值", 4000), Tender("现金", 1000)),
        change=220,
        store_info=("杭州市中山路1号", "电话 0571-88880000"),
        cashier="张三",
        member_no="M000123",
        tier="金卡",
        phone_masked="138****8000",
        points_earned=47,
        points_balance=1247,
        stored_value_balance=6000,
        qr_payload=coupon_payload("C2026-88"),
        footer=("谢谢惠顾 欢迎再次光临",),
    )
