"""Bulk member import from CSV (all good rows in one transaction, bad rows reported by line) and export."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, TextIO

from core.errors import InvalidAmount, InvalidInput, KioskError
from core.events import EventDraft
from core.members import normalize_gender, normalize_name, normalize_phone, normalize_uid, parse_birthday
from core.money import format_fen, parse_yuan
from core.payloads import ToppedUp
from kiosk.services.members import MemberService, Registration
from kiosk.services.topup import MAX_TOPUP_FEN
from kiosk.store import ledger, members as rows
from kiosk.store.db import Database

COLUMNS = ("phone", "name", "birthday", "gender", "card", "stored_value")
EXPORT_COLUMNS = ("member_id", "phone", "name", "birthday", "gender", "cards", "tier", "points", "stored_value", "visits")
# Encodings a shop's member list arrives in: UTF-8 (with Excel's BOM or without), else GB18030, the superset of the
# GBK that Excel on Chinese Windows saves "CSV" in.
ENCODINGS = ("utf-8-sig", "gb18030")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting so as a formula
_NUMBER = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")  # a negative balance is a number, not a formula


class CsvUnreadable(InvalidInput):
    """A member list in an encoding we cannot tell; the message says how to save it."""


def decode_csv(data: bytes, name: str) -> str:
    """The text of a member list saved as UTF-8 or as GBK/GB18030 (Excel's "CSV" on Chinese Windows)."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsvUnreadable(f"{name} is neither UTF-8 nor GBK text; open it in Excel and save as \"CSV UTF-8\"")


def neutralize(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula (=HYPERLINK(...), +cmd, @SUM) made inert with a leading '."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


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
        name=normalize_name(value("name")),
        birthday=parse_birthday(value("birthday"), today) if value("birthday") else None,
        gender=normalize_gender(value("gender")) if value("gender") else None,
        card=normalize_uid(value("card")) if value("card") else None,
    )
    opening = parse_yuan(value("stored_value")) if value("stored_value") else 0
    if opening > MAX_TOPUP_FEN:
        raise InvalidAmount(f"opening stored value {format_fen(opening)} is above {format_fen(MAX_TOPUP_FEN)}, the most "
                            "a top-up may add; check the figure, or import up to that and top up the rest at the till")
    return reg, opening


def export_rows(service: MemberService) -> Iterable[dict]:
    """Every member with balances, for a spreadsheet; erased members export without personal data."""
    with service.db.reading() as conn:
        for m in rows.all_members(conn):  # opened: the export is the shop owner's plaintext copy (written 0600)
            member_id = m.member_id
            b = ledger.load_balances(conn, member_id)
            yield {
                "member_id": member_id,
                "phone": m.phone or "",
                "name": m.name or "",
                "birthday": m.birthday.isoformat() if m.birthday else "",
                "gender": m.gender or "",
                "cards": " ".join(uid for uid, status in rows.cards_of(conn, member_id) if status == "active"),
                "tier": b.tier,
                "points": b.points,
                "stored_value": format_fen(b.stored_value, symbol=""),
                "visits": " ".join(f"{k}={v}" for k, v in sorted(b.visits.items())),
            }


def export_csv(service: MemberService) -> str:
    """The export as CSV text, with formula-like cells neutralized for the spreadsheet it is opened in."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows({key: neutralize(cell) for key, cell in row.items()} for row in export_rows(service))
    return out.getvalue()
