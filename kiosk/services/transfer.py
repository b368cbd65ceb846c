"""Bulk member import from CSV (all good rows in one transaction, bad rows reported by line) and export."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Callable, Iterable, TextIO

from core.errors import KioskError
from core.events import EventDraft
from core.members import normalize_gender, normalize_phone, normalize_uid, parse_birthday
from core.money import format_fen, parse_yuan
from core.payloads import ToppedUp
from kiosk.services.members import MemberService, Registration
from kiosk.store import ledger, members as rows
from kiosk.store.db import Database

COLUMNS = ("phone", "name", "birthday", "gender", "card", "stored_value")
EXPORT_COLUMNS = ("member_id", "phone", "name", "birthday", "gender", "cards", "tier", "points", "stored_value", "visits")


@dataclass
class ImportReport:
    """How an import went: members created, and each refused row with its line number and reason."""

    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def import_members(
    service: MemberService, source: TextIO, today: dt.date, progress: Callable[[int], None] = lambda n: None,
    operator: str | None = None,
) -> ImportReport:
    """Validate every row, then import the good ones atomically with their opening stored value (consent from
    the shop's paper form is assumed: the CSV is the shop's own member list)."""
    report = ImportReport()
    reader = csv.DictReader(source)
    missing = {"phone"} - set(reader.fieldnames or ())
    if missing:
        raise KioskError(f"the CSV has no {', '.join(sorted(missing))} column; expected columns: {', '.join(COLUMNS)}")
    with service.gateway.unit(service.acting(operator)) as unit:
        seen_phones: set[str] = set()
        for n, raw in enumerate(reader):
            line = reader.line_num
            progress(n + 1)
            try:
                reg, opening = _parse_row(raw, today)
                if reg.phone in seen_phones:
                    raise KioskError(f"phone {reg.phone} appears twice in the file")
                with Database.savepoint(unit.conn):
                    member_id = service.add_in(unit, reg)
                    if opening:
                        topup = ToppedUp(opening, source="import")
                        unit.append([EventDraft.of(topup, member_id, {"stored_value": opening})])
                seen_phones.add(reg.phone)
                report.imported += 1
            except KioskError as exc:
                report.errors.append((line, str(exc)))
    return report


def _parse_row(raw: dict[str, str | None], today: dt.date) -> tuple[Registration, int]:
    def value(key: str) -> str:
        return (raw.get(key) or "").strip()

    reg = Registration(
        phone=normalize_phone(value("phone")),
        consent=True,
        name=value("name") or None,
        birthday=parse_birthday(value("birthday"), today) if value("birthday") else None,
        gender=normalize_gender(value("gender")) if value("gender") else None,
        card=normalize_uid(value("card")) if value("card") else None,
    )
    return reg, parse_yuan(value("stored_value")) if value("stored_value") else 0


def export_rows(service: MemberService) -> Iterable[dict]:
    """Every member with balances, for a spreadsheet; erased members export without personal data."""
    with service.db.reading() as conn:
        for row in rows.all_rows(conn):
            member_id = row[0]
            b = ledger.load_balances(conn, member_id)
            yield {
                "member_id": member_id,
                "phone": row[1] or "",
                "name": row[2] or "",
                "birthday": row[3] or "",
                "gender": row[4] or "",
                "cards": " ".join(uid for uid, status in rows.cards_of(conn, member_id) if status == "active"),
                "tier": b.tier,
                "points": b.points,
                "stored_value": format_fen(b.stored_value, symbol=""),
                "visits": " ".join(f"{k}={v}" for k, v in sorted(b.visits.items())),
            }


def export_csv(service: MemberService) -> str:
    """The export as CSV text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(export_rows(service))
    return out.getvalue()
