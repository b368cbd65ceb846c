"""`memberkiosk logs`: the kiosk's journal for a technician, through journalctl."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from core.errors import KioskError
from kiosk.cli.common import add_command

UNIT = "memberkiosk"


class JournalUnavailable(KioskError):
    """journalctl is not on this machine, so there is no journal to read here."""


def _logs(args: argparse.Namespace) -> int:
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        raise JournalUnavailable("journalctl is not installed here, so the journal cannot be read: on the kiosk "
                                 "run this command as root or a member of systemd-journal; elsewhere the kiosk logs "
                                 "to stderr")
    command = [journalctl, "-u", args.unit, "--since", args.since, "-o", "short-iso", "--no-pager", "-q"]
    if args.lines is not None:
        command += ["-n", str(args.lines)]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise KioskError(f"journalctl failed: {proc.stderr.strip() or f'exit {proc.returncode}'}; check --since "
                         "(e.g. \"1 hour ago\", \"2026-11-23 08:00\", \"today\") and that you may read the journal "
                         "(root, or the systemd-journal group)")
    if not proc.stdout.strip():
        print(f"no journal entries for unit {args.unit} since {args.since}: the unit did not log then, or this user "
              "cannot see its entries (run as root or a member of systemd-journal)")
        return 0
    sys.stdout.write(proc.stdout)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `logs`."""
    p = add_command(subparsers, "logs", _logs, "read the kiosk's journal (journalctl) for a technician")
    p.add_argument("--since", default="1 hour ago", help='from when, as journalctl reads it (default "1 hour ago")')
    p.add_argument("--unit", default=UNIT, help=f"the systemd unit (default {UNIT})")
    p.add_argument("--lines", "-n", type=int, metavar="N", help="only the last N entries")
