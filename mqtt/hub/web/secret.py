"""The key that signs the console's session cookies, kept in the hub's data directory, readable by its owner only.

Made on first start and kept: a restart does not log everyone out, and several console processes on one data
directory accept each other's cookies. Deleting the file ends every session at the next start.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.errors import KioskError

SECRET_FILE = "web-session.key"
SECRET_BYTES = 32


class SecretDamaged(KioskError):
    """The session key file exists but cannot be used."""


def session_secret(data_dir: Path) -> str:
    """The session-signing key in `data_dir` (hex), made 0600 when missing; two processes racing keep one."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_hex(SECRET_BYTES).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails when another process made it first: theirs is the key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    try:
        if path.stat().st_mode & 0o077:
            raise SecretDamaged(f"{path} is readable by others: chmod 600 {path} (or delete it to end all sessions)")
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise SecretDamaged(f"{path} cannot be read ({e}); delete it to make a new one (all sessions end)") from None
    if len(text) < 2 * SECRET_BYTES:
        raise SecretDamaged(f"{path} is damaged; delete it to make a new one (all sessions end)")
    return text
