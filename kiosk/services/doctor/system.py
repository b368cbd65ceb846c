"""Doctor checks of the machine under the kiosk: the clock, the disk, and who may read the data and the keys."""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from kiosk.services.doctor.finding import Finding
from kiosk.store.keyring import GROUP_READABLE, SIGNING_FILE

TIMEDATECTL_TIMEOUT_S = 5.0
WARN_FREE_FRACTION = 0.10
DATA_DIR_MODE = 0o750  # as tmpfiles.d and the README set them; files 0640, keys 0600 (pii.key 0640)


def check_clock() -> list[Finding]:
    """Whether the system clock is NTP-synchronised: receipts, points expiry and sync order depend on it."""
    fix = ("enable time sync (`timedatectl set-ntp true`, systemd-timesyncd) and let the kiosk reach an NTP server; "
           "receipts, points expiry and the order of events between kiosks depend on the clock")
    if shutil.which("timedatectl") is None:
        return [Finding("clock", "warn", "cannot tell whether the clock is synchronised: timedatectl is not installed",
                        fix)]
    try:
        proc = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                              text=True, timeout=TIMEDATECTL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Finding("clock", "warn", f"cannot tell whether the clock is synchronised: timedatectl failed ({exc})",
                        fix)]
    answer = proc.stdout.strip()
    if proc.returncode != 0 or answer not in ("yes", "no"):
        why = (proc.stderr.strip() or answer or f"exit {proc.returncode}").splitlines()[0]
        return [Finding("clock", "warn", f"cannot tell whether the clock is synchronised: {why}", fix)]
    if answer == "no":
        return [Finding("clock", "warn", "the clock is not NTP-synchronised", fix)]
    return [Finding("clock", "ok", "the clock is NTP-synchronised")]


def check_disk(data_dir: Path, min_free_bytes: int) -> list[Finding]:
    """Free space where the ledger lives: a warning at 10% free, a fault below the floor where sales pause
    (store.min_free_mb)."""
    where = next((p for p in (data_dir, *data_dir.parents) if p.exists()), data_dir)  # a new kiosk's goes there
    try:
        usage = shutil.disk_usage(where)
    except OSError as exc:
        return [Finding("disk", "fault", f"cannot measure free space at {data_dir}: {exc.strerror}",
                        "check that the data partition is mounted")]
    found = f"{_mib(usage.free)} free of {_mib(usage.total)} ({usage.free / usage.total:.0%}) at {data_dir}"
    fix = ("free space on the data partition: move old backups and exports off it (`memberkiosk backup` to a USB "
           "stick), or give it a bigger card")
    if usage.free < min_free_bytes:
        return [Finding("disk", "fault", f"{found}: below the {_mib(min_free_bytes)} selling needs: sales are paused",
                        fix)]
    if usage.free < WARN_FREE_FRACTION * usage.total:
        return [Finding("disk", "warn", f"{found}: under {WARN_FREE_FRACTION:.0%}", fix)]
    return [Finding("disk", "ok", found)]


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def check_permissions(data_dir: Path, key_dir: Path) -> list[Finding]:
    """Owners and modes: personal data and keys readable by owner and group only, and never by others."""
    return [_check_data_dir(data_dir), _check_key_dir(key_dir)]


def _check_data_dir(data_dir: Path) -> Finding:
    check = "data dir"
    if not data_dir.is_dir():
        return Finding(check, "warn", f"{data_dir} does not exist yet", "it is made when the kiosk first starts")
    st = data_dir.stat()
    found = f"{data_dir} {_owner(st)} {stat.S_IMODE(st.st_mode):04o}"
    open_files = [f"{p.name} {stat.S_IMODE(p.stat().st_mode):04o}" for p in sorted(data_dir.iterdir())
                  if p.is_file() and p.stat().st_mode & 0o007]
    if st.st_mode & 0o007 or open_files:
        return Finding(check, "fault", f"{found}: readable by others ({', '.join(open_files) or 'the directory'})",
                       f"chmod 0750 {data_dir} and chmod 0640 its files: they hold members' personal data")
    if not os.access(data_dir, os.W_OK | os.X_OK):
        return Finding(check, "fault", f"{found}: this user cannot write to it",
                       f"chown it to the user the kiosk runs as (kiosk:kiosk), mode {DATA_DIR_MODE:04o}")
    return Finding(check, "ok", found)


def _check_key_dir(key_dir: Path) -> Finding:
    check = "key dir"
    if not key_dir.is_dir():
        return Finding(check, "warn", f"{key_dir} does not exist yet", "the kiosk makes its keys at first start")
    st = key_dir.stat()
    found = f"{key_dir} {_owner(st)} {stat.S_IMODE(st.st_mode):04o}"
    exposed, group = [], []
    for path in sorted(key_dir.iterdir()):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o007:
            exposed.append(f"{path.name} {mode:04o}")
        elif mode & 0o070 and _owner_only(path):
            group.append(f"{path.name} {mode:04o}")
    if exposed or st.st_mode & 0o007:
        return Finding(check, "fault", f"{found}: keys readable by others ({', '.join(exposed) or 'the directory'})",
                       f"chmod o-rwx {key_dir} and chmod 0600 each key (pii.key root:kiosk 0640); a key others could "
                       "read is a key to replace: ask head office")
    if group:
        return Finding(check, "warn", f"{found}: readable by the group ({', '.join(group)})",
                       f"chmod 0600 {' '.join(str(key_dir / g.split()[0]) for g in group)}")
    return Finding(check, "ok", found)


def _owner_only(path: Path) -> bool:
    """Keys only the kiosk's own user reads: all but those the chain's installer shares with the kiosk group."""
    return path.name == SIGNING_FILE or path.suffix == ".key" and path.stem not in GROUP_READABLE


def _owner(st: os.stat_result) -> str:
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"{user}:{group}"
