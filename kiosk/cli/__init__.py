"""The `memberkiosk` command: one sub-module per command group, each with a `register(subparsers)`."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from core.errors import KioskError
from kiosk.cli.owner import refuse_root_on_others_dir
from kiosk.config import load as load_config  # not `config`: kiosk.cli.config, the command, takes that name

# Each module adds its sub-commands; a sub-command sets `func(args) -> int` as its default.
COMMAND_MODULES = [
    "kiosk.cli.members",
    "kiosk.cli.topup",
    "kiosk.cli.staff",
    "kiosk.cli.maintenance",
    "kiosk.cli.demo",
    "kiosk.cli.run",
    "kiosk.cli.devices",
    "kiosk.cli.receipt",
    "kiosk.cli.sales",
    "kiosk.cli.facts",
    "kiosk.cli.rules",
    "kiosk.cli.points",
    "kiosk.cli.report",
    "kiosk.cli.config",
    "kiosk.cli.sync",
    "kiosk.cli.audit",
    "kiosk.cli.hub",
    "kiosk.cli.fleet",
    "kiosk.cli.update",
    "kiosk.cli.doctor",
    "kiosk.cli.logs",
    "kiosk.cli.notify",
]

DATA_DIR_ENV = "MEMBERKIOSK_DATA_DIR"


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; every command answers --help."""
    parser = argparse.ArgumentParser(prog="memberkiosk", description="Store membership and checkout kiosk.")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"where the ledger and documents live (default: kiosk.data_dir, env {DATA_DIR_ENV}, else /var/lib/memberkiosk)",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")
    parser.add_argument("--operator", help="who does this, for the ledger: a staff number (env MEMBERKIOSK_OPERATOR;"
                                           " default cli:USER); money-moving commands take an authenticated --staff")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; errors a person can fix exit 2 with their message."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.umask(0o027)  # ledger, documents, exports and backups hold personal data: never readable by all
    try:
        args.data_dir_flag = args.data_dir  # `config show` tells a flag from the configured value
        args.data_dir = load_config(flags={"kiosk.data_dir": args.data_dir})["kiosk.data_dir"]
        if not getattr(args, "root_writes", False):  # `update apply` runs as root by design (kiosk/cli/update.py)
            refuse_root_on_others_dir(args.data_dir, sys.argv[1:] if argv is None else argv)
        return args.func(args)
    except KioskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error of ours
        sys.stderr.close()
        return 0
