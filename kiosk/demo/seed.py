"""Demo data: a small shop's members, cards and staff, seeded once into an empty data directory."""
from __future__ import annotations

import datetime as dt

from kiosk.app import Kiosk
from kiosk.demo.pricing import seed_pricing
from kiosk.services.members import Registration
from kiosk.services.receipts import SETTINGS_TABLE
from kiosk.services.topup import top_up
from kiosk.store.documents import replace_table

DEMO_STORE_NAME = "鲜果超市 Fresh Mart"
# (phone, name, birthday, card UID, payment PIN, opening stored value in fen)
DEMO_MEMBERS = [
    ("13800138000", "张伟", dt.date(1988, 3, 14), "04A1B2C3", "123456", 50_000),
    ("13912345678", "王芳", dt.date(1992, 11, 23), "04D5E6F7", "654321", 120_000),
    ("15000000001", "Li Na", dt.date(1979, 7, 1), "0488776655AABB", "111111", 0),
    ("18612340000", "刘洋", None, "04C0FFEE", "222222", 30_000),
]
# (staff number, name, role, PIN, staff card UID)
DEMO_STAFF = [
    ("M01", "店长 陈", "manager", "888888", "04BEEF01"),
    ("C01", "收银 赵", "cashier", "000000", "04BEEF02"),
]


def seed(kiosk: Kiosk) -> bool:
    """Seed members with cards and opening balances, and staff; False when the store already has members."""
    if kiosk.members.count():
        return False
    for phone, name, birthday, card, pin, opening in DEMO_MEMBERS:
        view = kiosk.members.register(
            Registration(phone=phone, consent=True, name=name, birthday=birthday, card=card, pin=pin)
        )
        if opening:
            top_up(kiosk.members, view.member.member_id, opening)
    for staff_no, name, role, pin, card in DEMO_STAFF:
        kiosk.staff.add(staff_no, name, role, pin, card)
    seed_pricing(kiosk)
    replace_table(kiosk.docs, SETTINGS_TABLE, [{"store_name": DEMO_STORE_NAME}])
    return True
