"""`memberkiosk config show`: every key's effective value and the layer it came from, for the technician."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any

from kiosk import config
from kiosk.cli.common import add_command, emit
from kiosk.store.documents import DOCS_FILE, open_documents
from kiosk.store.lock import lock_data_dir


def effective(args: argparse.Namespace) -> config.Config:
    """The configuration with the data directory's documents, when it has any, and --data-dir if given."""
    flags = {"kiosk.data_dir": args.data_dir_flag}
    if not (args.data_dir / DOCS_FILE).exists():
        return config.load(flags=flags)
    lock_fd = lock_data_dir(args.data_dir, exclusive=False)
    docs = None
    try:
        docs = open_documents(args.data_dir)
        return config.load(flags=flags, docs=docs)
    finally:
        if docs is not None:
            docs.close()
        os.close(lock_fd)


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _show(args: argparse.Namespace) -> int:
    cfg = effective(args)
    payload = {name: {"value": setting.value, "layer": setting.layer} for name, setting in cfg}
    width = max(len(name) for name, _ in cfg)
    emit(args, payload, "\n".join(f"{name:<{width}}  {_shown(s.value)}  ({s.layer})" for name, s in cfg))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `config show`."""
    group = add_command(subparsers, "config", None, "this kiosk's configuration")
    sub = group.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    add_command(sub, "show", _show, "each setting's effective value and where it came from (default, file, "
                                    "document, env, flag)")
