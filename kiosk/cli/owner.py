"""Root does not run commands on a data directory another user owns.

Files root writes there (documents, ledger, print queue, kept copies of a restore) would be root's, and the kiosk
service, which runs as that user, could no longer open them. Worse, root following a link that user planted in the
directory would write wherever the link points. So the command stops and says how to run it as the owner.
"""
from __future__ import annotations

import os
import pwd
import shlex
from pathlib import Path

from core.errors import KioskError


class WrongUser(KioskError):
    """A command run as root on a data directory that belongs to another user (the kiosk's)."""


def refuse_root_on_others_dir(data_dir: Path, argv: list[str]) -> None:
    """Raise WrongUser when running as root and `data_dir` exists and belongs to another user."""
    if os.geteuid() != 0:
        return
    try:
        uid = data_dir.stat().st_uid
    except FileNotFoundError:
        return
    if uid == 0:
        return
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"#{uid}"  # sudo's spelling of a uid with no name
    raise WrongUser(f"{data_dir} belongs to {user}, and files root writes there would lock the kiosk out of them. "
                    f"run as the kiosk user: sudo -u {shlex.quote(user)} memberkiosk {shlex.join(argv)}")
