"""Store upkeep: import, export, verify, backup and restore."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from pathlib import Path

from core.errors import KioskError
from kiosk.clock import wall_ms
from kiosk.cli.common import add_command, emit, open_kiosk
from kiosk.store.backup import backup, restore
from kiosk.store.db import LEDGER_FILE, Database
from kiosk.store.errors import StoreDamaged
from kiosk.store.verify import verify_documents, verify_ledger
from kiosk.services.transfer import export_csv, export_rows, import_members


def _progress_bar(total: int):
    """A progress bar on stderr, redrawn at most 100 times."""
    step = max(1, total // 100)

    def show(n: int) -> None:
        if n % step == 0 or n == total:
            done = n * 30 // max(total, 1)
            sys.stderr.write(f"\r[{'#' * done}{'.' * (30 - done)}] {n}/{total}")
            if n == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show


def _import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise KioskError(f"cannot read {args.file}: {exc}") from exc
    total = max(0, len(text.splitlines()) - 1)
    with open_kiosk(args) as kiosk:
        report = import_members(kiosk.members, io.StringIO(text), kiosk.clock.today(), _progress_bar(total))
    payload = {"imported": report.imported, "errors": [{"line": n, "error": e} for n, e in report.errors]}
    lines = [f"imported {report.imported} members"] + [f"line {n}: {e}" for n, e in report.errors]
    if report.errors:
        lines.append(f"{len(report.errors)} rows refused; fix them and import those rows again")
    emit(args, payload, "\n".join(lines))
    return 1 if report.errors else 0


def _export(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        if args.json:
            emit(args, list(export_rows(kiosk.members)), "")
            return 0
        text = export_csv(kiosk.members)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _verify(args: argparse.Namespace) -> int:
    path = args.data_dir / LEDGER_FILE
    if not path.exists():
        raise KioskError(f"no store at {args.data_dir}")
    problems = [str(p) for p in verify_documents(args.data_dir)]
    try:
        db = Database(path, check=False)
    except StoreDamaged as exc:
        problems.insert(0, str(exc))  # a file SQLite cannot open has no rows to check
    else:
        try:
            problems += [str(p) for p in verify_ledger(db.conn)]
        finally:
            db.close()
    emit(args, {"ok": not problems, "problems": problems},
         "\n".join(problems) if problems else "store intact: ledger, projections and documents verified")
    return 3 if problems else 0


def _backup(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        manifest = backup(kiosk.db, kiosk.data_dir, args.file, kiosk.clock.now_ms())
    emit(args, manifest, f"backup written to {args.file}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    kept = restore(args.file, args.data_dir, wall_ms())
    emit(args, {"restored": str(args.file), "replaced_files_kept_in": str(kept)},
         f"restored {args.file}; the replaced files are kept in {kept}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add import, export, verify, backup and restore."""
    p = add_command(subparsers, "import", _import, "import members from CSV (phone,name,birthday,gender,card,stored_value)")
    p.add_argument("file", type=Path)
    p = add_command(subparsers, "export", _export, "export members with balances as CSV (or --json)")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    add_command(subparsers, "verify", _verify, "check the whole store; exit 0 when intact, 3 naming what is wrong")
    p = add_command(subparsers, "backup", _backup, "write a consistent snapshot, even while the kiosk runs")
    p.add_argument("file", type=Path)
    p = add_command(subparsers, "restore", _restore, "replace the store with a verified backup (kiosk stopped)")
    p.add_argument("file", type=Path)
