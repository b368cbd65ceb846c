"""`memberkiosk sync`: exchange events and member records with another kiosk of the store by signed file."""
from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import add_command, emit, open_kiosk


def _export(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        report = kiosk.sync.export(args.file, args.since)
    payload = {"file": str(report.path), "events": report.events, "member_changes": report.changes,
               "covers": report.covers}
    emit(args, payload, f"wrote {report.events} events and {report.changes} member changes to {report.path}"
                        f" (next time: --since {report.path})")
    return 0


def _import(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        report = kiosk.sync.import_file(args.file)
    e, m = report.events, report.members
    lines = [f"from kiosk {report.kiosk_id}: {e.new} new events, {e.duplicate} already here, {e.flagged} overdrafts flagged;"
             f" {m.new} new member changes, {m.duplicate} already here, {m.conflicts} clashes flagged"]
    if e.flagged or m.conflicts:
        lines.append("see 'memberkiosk sync flags' for what staff must settle")
    emit(args, report.as_dict(), "\n".join(lines))
    return 0


def _flags(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        flags = kiosk.sync.flags()
    lines = [f"overdraft: member {o['member_id'] or '-'} {o['what']} {o['amount']} below zero (event {o['event_id']})"
             for o in flags["overdrafts"]]
    lines += [f"clash: member {c['member_id']} and member {c['kept_by']} both claim {c['field']} {c['value']};"
              f" {c['kept_by']} keeps it" for c in flags["conflicts"]]
    emit(args, flags, "\n".join(lines) or "nothing flagged")
    return 0


def _forget(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        forgot = kiosk.sync.forget(args.kiosk_id)
    emit(args, {"forgot": forgot}, f"forgot the key of kiosk {args.kiosk_id}; its next file is trusted"
         if forgot else f"no key remembered for kiosk {args.kiosk_id}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sync export`, `sync import`, `sync flags` and `sync forget`."""
    group = add_command(subparsers, "sync", None, "sync with another kiosk of this store by signed file (USB stick)")
    sub = group.add_subparsers(dest="sync_command", metavar="SUBCOMMAND", required=True)
    p = add_command(sub, "export", _export, "write every event and member change held here to a signed file")
    p.add_argument("file", type=Path)
    p.add_argument("--since", type=Path, metavar="PREVIOUS_FILE",
                   help="only what is newer than this kiosk's previous export")
    p = add_command(sub, "import", _import, "take another kiosk's sync file (importing it twice changes nothing)")
    p.add_argument("file", type=Path)
    add_command(sub, "flags", _flags, "overdrafts and clashing phones or cards that sync flagged for staff")
    p = add_command(sub, "forget", _forget, "forget a kiosk's key after it was reinstalled with a new one")
    p.add_argument("kiosk_id")
