"""`memberkiosk demo`: the kiosk with seeded data and simulated devices; no hardware or broker needed."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from core.money import format_fen
from kiosk.app import Kiosk
from kiosk.cli.common import add_command
from kiosk.cli.members import describe
from kiosk.clock import wall_ms
from kiosk.demo.history import seed_with_history
from kiosk.demo.seed import DEMO_MEMBERS, DEMO_STAFF, seed
from kiosk.services.topup import top_up
from kiosk.store.verify import verify_ledger


def _data_dir(args: argparse.Namespace) -> Path:
    """The demo's own folder: --demo-dir, or a fresh temporary one so a demo never touches a shop's data."""
    return args.demo_dir or Path(tempfile.mkdtemp(prefix="memberkiosk-demo-"))


def walk_through(kiosk: Kiosk) -> None:
    """A scripted tour of the demo data through the same services the UI uses."""
    phone, name, _, card, _, _ = DEMO_MEMBERS[0]
    print(f"\n1. {name} taps card {card}:")
    view = kiosk.members.by_card(card)
    print(describe(view))
    staff_no, _, _, pin, _ = DEMO_STAFF[1]
    cashier = kiosk.staff.authenticate(staff_no, pin)
    print(f"\n2. Cashier {cashier.name} ({staff_no}, PIN checked) tops up {format_fen(20_000)} "
          f"for member {view.member.member_id}:")
    top_up(kiosk.members, view.member.member_id, 20_000, operator=cashier.staff_no)
    print(describe(kiosk.members.by_phone(phone)))
    print("\n3. The ledger behind it:")
    for event in kiosk.members.history(view.member.member_id):
        print(f"   #{event.seq:<4} {event.type:<24} {dict(event.deltas)}  by {event.operator}")
    with kiosk.db.reading() as conn:
        problems = verify_ledger(conn)
    print(f"\n4. verify: {'store intact' if not problems else problems}")


def _demo(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args)
    made = False
    if args.history:  # weeks of sales behind the seed, for the reports; made before the kiosk opens on now
        print(f"making {args.history} days of demo sales ...", flush=True)
        made = seed_with_history(data_dir, args.history, wall_ms(), "demo-k1", "demo-store")
    with Kiosk.open(data_dir, kiosk_id="demo-k1", store_id="demo-store") as kiosk:
        seeded = seed(kiosk) or made
        print(f"demo data in {data_dir} ({'seeded' if seeded else 'kept from before'})")
        if not args.cli:
            from kiosk.ui.main import demo_settings, run

            run(kiosk, fullscreen=False, **demo_settings(receipt_dir=data_dir / "receipts"))
            return 0
        walk_through(kiosk)
    print(f"\nTry: memberkiosk --data-dir {data_dir} members find --phone {DEMO_MEMBERS[1][0]}")
    print(f"     memberkiosk --data-dir {data_dir} topup MEMBER 50 --staff {DEMO_STAFF[1][0]}   (asks the PIN, "
          f"{DEMO_STAFF[1][3]} in the demo)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `demo`."""
    p = add_command(subparsers, "demo", _demo, "run the kiosk on seeded demo data with simulated devices")
    p.add_argument("--demo-dir", type=Path, help="keep the demo's data here (default: a new temporary folder)")
    p.add_argument("--cli", action="store_true", help="a scripted walk-through in the terminal instead of the UI")
    p.add_argument("--history", type=int, default=0, metavar="DAYS",
                   help="a new demo folder also gets DAYS days of sales, top-ups and clockings up to now (for reports)")
