"""Store upkeep: import, export, verify, backup and restore."""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

from core.errors import KioskError
from kiosk.clock import wall_ms
from kiosk.cli.common import add_command, add_staff_option, emit, manager_before_restore, open_kiosk
from kiosk.config import load as load_config
from kiosk.services.audit import full_verify, quick_verify
from kiosk.services.backups import restore_backup, take_backup
from kiosk.store.keyring import KeyRing
from kiosk.store.db import LEDGER_FILE, existing_store
from kiosk.services.transfer import decode_csv, export_csv, export_rows, import_members


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
        data = args.file.read_bytes()
    except OSError as exc:
        raise KioskError(f"cannot read {args.file}: {exc.strerror}") from exc
    text = decode_csv(data, str(args.file))
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
    if args.output and not args.output.parent.is_dir():
        raise KioskError(f"cannot write {args.output}: the folder {args.output.parent} does not exist; create it "
                         "or choose another -o path")
    with open_kiosk(args) as kiosk:
        if args.json:
            emit(args, list(export_rows(kiosk.members)), "")
            return 0
        text = export_csv(kiosk.members)
    if args.output:
        try:  # with Excel's BOM: without it Excel on Chinese Windows reads UTF-8 as GBK and garbles the names
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: the owner only
            os.fchmod(fd, 0o600)  # also when an older export was readable by others
            with os.fdopen(fd, "w", encoding="utf-8-sig") as out:
                out.write(text)
        except OSError as exc:
            raise KioskError(f"cannot write {args.output}: {exc.strerror}; choose another -o path") from exc
    else:
        sys.stdout.write(text)
    return 0


def _verify(args: argparse.Namespace) -> int:
    if not (args.data_dir / LEDGER_FILE).exists() and not existing_store(args.data_dir):
        if args.if_present:  # a kiosk before its enrolment or first start: nothing to check yet
            emit(args, {"ok": True, "problems": [], "note": "no store yet"}, f"no store yet at {args.data_dir}")
            return 0
        raise KioskError(f"no store at {args.data_dir}")
    keys = KeyRing(load_config()["kiosk.key_dir"])
    if args.quick:
        report = quick_verify(args.data_dir, keys.secret("audit"), wall_ms())
        done = (f"quick check passed: {report.events} new event{'' if report.events == 1 else 's'} since the last "
                "verified point, the witness and the tables")
    else:
        report = full_verify(args.data_dir, keys, wall_ms())
        done = "store intact: ledger, projections, audit chain, witness and documents verified"
    text = "\n".join(report.problems) or done
    emit(args, {"ok": report.ok, "events": report.events, "problems": report.problems, "note": report.note},
         text + (f"\n{report.note}" if report.note else ""))
    return 0 if report.ok else 3


def _backup(args: argparse.Namespace) -> int:
    with open_kiosk(args) as kiosk:
        written, manifest = take_backup(kiosk.db, kiosk.who, kiosk.keys, kiosk.clock, args.file)
    emit(args, {**manifest, "path": str(written)}, f"backup written to {written}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    manager_before_restore(args)
    cfg = load_config()
    done = restore_backup(args.file, args.data_dir, KeyRing(cfg["kiosk.key_dir"]), wall_ms(), args.replace_kiosk)
    lines = [f"restored {args.file}; the replaced files are kept in {done.kept}"]
    kiosk_id = done.kiosk.kiosk_id
    if done.before != done.kiosk:
        was = f"kiosk {done.before.kiosk_id} of store {done.before.store_id}" if done.before else "a new kiosk"
        lines.append(f"this kiosk was {was} and is now kiosk {kiosk_id} of store {done.kiosk.store_id}")
    if done.key_changed:
        lines.append(f"the backup was signed by another kiosk's key ({done.public_key}); this hardware's key signs for "
                     f"{kiosk_id} from now on: retire the old {kiosk_id}, and on the other kiosks of the store run "
                     f"'memberkiosk sync forget {kiosk_id}'")
    if cfg.is_set("kiosk.id") and cfg["kiosk.id"] != done.kiosk.kiosk_id:
        lines.append(f"set kiosk.id to '{done.kiosk.kiosk_id}' ({cfg.layer('kiosk.id')} says '{cfg['kiosk.id']}') "
                     "before starting the kiosk")
    emit(args, {"restored": str(args.file), "replaced_files_kept_in": str(done.kept), "kiosk_id": done.kiosk.kiosk_id,
                "store_id": done.kiosk.store_id, "previous_kiosk_id": done.before and done.before.kiosk_id,
                "took_over": done.took_over, "public_key": done.public_key}, "\n".join(lines))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add import, export, verify, backup and restore."""
    p = add_command(subparsers, "import", _import, "import members from CSV (phone,name,birthday,gender,card,stored_value)")
    p.add_argument("file", type=Path)
    p = add_command(subparsers, "export", _export, "export members with balances as CSV (or --json)")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    p = add_command(subparsers, "verify", _verify, "check the whole store; exit 0 when intact, 3 naming what is wrong "
                    "(the result is recorded for doctor and head office)")
    p.add_argument("--if-present", action="store_true",
                   help="pass when there is no store yet (a new kiosk before enrolment), as the kiosk's unit does")
    p.add_argument("--quick", action="store_true",
                   help="check only what changed since the last verified point (the kiosk's start): seconds, not "
                        "minutes, on a ledger of years")
    p = add_command(subparsers, "backup", _backup, "write a signed, consistent snapshot, even while the kiosk runs")
    p.add_argument("file", type=Path, help="the backup file, or a folder to write it into")
    p = add_command(subparsers, "restore", _restore, "replace the store with a verified backup (kiosk stopped)")
    p.add_argument("file", type=Path)
    add_staff_option(p, "manager")
    p.add_argument("--replace-kiosk", action="store_true",
                   help="this hardware takes over the kiosk the backup belongs to (its id and its data)")
