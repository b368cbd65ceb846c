"""A child process for the crash tests: commits in a loop and reports each commit after it returns.

Run as `python -m tests.store.crash_child ledger|documents DATA_DIR`; the parent SIGKILLs it at a random
moment. A line on stdout means "this commit returned", so it must be in the store after the kill.
"""
from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

from kiosk.app import Kiosk
from kiosk.services.members import Registration
from kiosk.services.topup import top_up
from kiosk.store.documents import open_documents, replace_table


def ledger_loop(data_dir: Path) -> None:
    """Alternate registrations (member + card + events) and top-ups on random members."""
    with Kiosk.open(data_dir, kiosk_id="crash", check=False) as kiosk:
        print("ready", flush=True)
        for _ in itertools.count():
            with kiosk.db.reading() as conn:
                n = conn.execute("SELECT COUNT(*) FROM members").fetchone()[0]
            if n == 0 or random.random() < 0.4:
                phone = f"139{random.randrange(10**8):08d}"
                try:
                    view = kiosk.members.register(Registration(phone=phone, consent=True, card=f"{random.randrange(2**32):08X}"))
                except Exception:  # a random phone or card may repeat; that refusal is tested elsewhere
                    continue
                print(f"register {view.member.member_id} {phone}", flush=True)
            else:
                member_id = f"{kiosk.who.kiosk_id}-{random.randint(1, n):06d}"
                amount = random.randint(1, 99_999)
                events = top_up(kiosk.members, member_id, amount)
                print(f"topup {events[0].id} {member_id} {amount}", flush=True)


def documents_loop(data_dir: Path) -> None:
    """Rewrite a large catalog document with a rising version number."""
    db = open_documents(data_dir)
    print("ready", flush=True)
    for version in itertools.count(1):
        replace_table(db, "catalog", [{"sku": f"S{i}", "name": "商品" * 10, "version": version} for i in range(2000)])
        print(f"version {version}", flush=True)


if __name__ == "__main__":
    {"ledger": ledger_loop, "documents": documents_loop}[sys.argv[1]](Path(sys.argv[2]))
