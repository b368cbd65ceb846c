"""The root updater (`memberkiosk update apply`, from memberkiosk-update.service): install a staged bundle as a new
release beside the running one, switch to it, and switch back by itself when it does not come up healthy.

Layout under the update root (/opt/memberkiosk): `releases/<version>/` is a venv each, `current` a relative symlink
to the running one, replaced in one rename. A release is made without pip (`venv --without-pip`, a tenth of a
second where ensurepip takes seconds) and filled by the running release's pip (`pip --python`), or, when that has
none, by the pip wheel every bundle carries, run from the wheel itself. After the switch the kiosk is restarted and must, within the health time, pass the ready
check and then verify (commands from config: systemctl on the appliance, plain commands in the tests); otherwise
`current` goes back to the previous release, the kiosk is restarted on it, and the outcome says why. The current
and the previous release are kept; older ones are pruned. The bundle is verified again here: the pending folder is
the kiosk user's, and root installs only what the operator signed.
"""
from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.errors import KioskError
from kiosk.store.documents import atomic_write, fsync_dir
from mqtt.fleet import update_bundle
from mqtt.fleet.protocol import Refusal, software_version
from mqtt.fleet.update_fetch import INSTALLED, OUTCOME_FILE

log = logging.getLogger(__name__)
RELEASES, CURRENT, LOCK = "releases", "current", ".update.lock"
ROLLED_BACK, REFUSED, FAILED = "rolled back", "refused", "failed"
_POLL = 0.2  # seconds between ready checks
_PIP_SECONDS = 600  # installing a wheelhouse offline; a hung pip must not hold the updater for ever


class UpdateError(KioskError):
    """A release could not be installed (pip failed, the disk is full): nothing was switched."""


@dataclass(frozen=True)
class Checks:
    """How the updater restarts the kiosk and judges it: shell-like command lines with {release}, {version} and
    {root} filled in, and the seconds the new version has to pass them."""

    restart: str
    ready: str
    verify: str
    health_seconds: float


class Updater:
    """Installs, switches, checks and rolls back releases under `root`."""

    def __init__(self, root: Path, pending: Path, key: Ed25519PublicKey, checks: Checks,
                 clock: Callable[[], int]) -> None:
        self.root, self.pending, self.key, self.checks, self.clock = root, pending, key, checks, clock
        self.releases, self.current = root / RELEASES, root / CURRENT

    def current_version(self) -> str | None:
        """The version `current` points at (None before the first release)."""
        target = os.readlink(self.current) if self.current.is_symlink() else None
        return Path(target).name if target else None

    def apply(self) -> list[dict[str, Any]]:
        """Apply every staged bundle, oldest first; each outcome is written to last-update.json and returned."""
        self.releases.mkdir(parents=True, exist_ok=True)
        done = []
        with (self.root / LOCK).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the path unit may start us again while we work
            staged = sorted(self.pending.glob("*.tar"), key=lambda p: p.stat().st_mtime) \
                if self.pending.is_dir() else []
            for path in staged:
                outcome = self._apply_one(path)
                atomic_write(self.root / OUTCOME_FILE, json.dumps(outcome, ensure_ascii=False).encode())
                os.chmod(self.root / OUTCOME_FILE, 0o644)  # the kiosk reads and reports it
                path.unlink(missing_ok=True)  # always: a bundle left pending would start us again and again
                done.append(outcome)
        return done

    def _apply_one(self, path: Path) -> dict[str, Any]:
        running = self.current_version() or software_version()
        outcome = {"command_id": path.stem, "version": None, "from_version": running}
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)  # a link planted in pending/ is not followed
            with os.fdopen(fd, "rb") as f:
                bundle = update_bundle.read(f, self.key, running)
        except Refusal as refusal:
            log.error("update bundle %s refused: %s", path.name, refusal.reason)
            return self._done(outcome, REFUSED, f"refused: {refusal.reason}")
        except OSError as e:
            return self._done(outcome, REFUSED, f"refused: cannot read {path.name}: {e.strerror}")
        outcome["version"] = bundle.version
        previous = self.current_version()
        release = self.releases / bundle.version
        try:
            self._install(bundle, release)
        except UpdateError as e:
            shutil.rmtree(release, ignore_errors=True)
            return self._done(outcome, FAILED, f"failed: {e}")
        self._switch(release.name)
        why = self._unhealthy(release, bundle.version)
        if why is None:
            self._prune(keep={release.name, previous})
            log.warning("updated from %s to %s", previous, bundle.version)
            return self._done(outcome, INSTALLED, None)
        log.error("version %s is not healthy (%s): switching back to %s", bundle.version, why, previous)
        self._switch(previous)
        self._run(self.checks.restart, self.root / CURRENT, previous or "", self.checks.health_seconds)
        shutil.rmtree(release, ignore_errors=True)
        return self._done(outcome, ROLLED_BACK, f"rolled back: {why}")

    def _done(self, outcome: dict[str, Any], state: str, reason: str | None) -> dict[str, Any]:
        return {**outcome, "state": state, "reason": reason, "at": self.clock()}

    def _install(self, bundle: update_bundle.Bundle, release: Path) -> None:
        """A new venv at `release` with the bundle's distribution and pip, offline from its wheels."""
        if release.name == self.current_version():
            raise UpdateError(f"{release} is the running release")
        shutil.rmtree(release, ignore_errors=True)  # what a stopped earlier attempt left
        with tempfile.TemporaryDirectory(dir=self.releases, prefix=".wheels-") as tmp:
            wheels = bundle.extract(Path(tmp))
            python = str(release / "bin" / "python")
            # this release's pip, compiled, drives the new venv; a release without pip runs the bundle's pip from
            # its wheel (as ensurepip does: slower, uncompiled)
            pip = [sys.executable, "-m", "pip", "--python", python] if importlib.util.find_spec("pip") \
                else [python, str(wheels / bundle.pip_wheel() / "pip")]
            for argv in ([sys.executable, "-m", "venv", "--without-pip", str(release)],
                         [*pip, "install", "--no-index", "--find-links", str(wheels), "--no-cache-dir",
                          "--disable-pip-version-check", "--quiet", f"{bundle.requires}=={bundle.version}"]):
                try:
                    done = subprocess.run(argv, capture_output=True, text=True, timeout=_PIP_SECONDS,
                                          env={**os.environ, "PIP_NO_INPUT": "1"})
                except (OSError, subprocess.TimeoutExpired) as e:
                    raise UpdateError(f"{argv[1]} {argv[2]}: {e}") from None
                if done.returncode != 0:
                    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                    raise UpdateError(f"installing {bundle.version} failed: {' / '.join(tail)}")

    def _switch(self, name: str | None) -> None:
        """Point `current` at releases/`name` in one rename (None: no release, the link goes)."""
        if name is None:
            self.current.unlink(missing_ok=True)
            return
        link = self.root / f".{CURRENT}.new"
        link.unlink(missing_ok=True)
        os.symlink(f"{RELEASES}/{name}", link)  # relative: right in an image's chroot too
        os.replace(link, self.current)
        fsync_dir(self.root)

    def _unhealthy(self, release: Path, version: str) -> str | None:
        """Restart on the new release; why it is not healthy within the health time, or None when it is."""
        checks, deadline = self.checks, time.monotonic() + self.checks.health_seconds
        self._run(checks.restart, release, version, checks.health_seconds)
        while self._run(checks.ready, release, version, max(0.1, deadline - time.monotonic())) != 0:
            if time.monotonic() >= deadline:
                return f"version {version} did not report ready within {checks.health_seconds:g} s"
            time.sleep(_POLL)
        code = self._run(checks.verify, release, version, max(0.1, deadline - time.monotonic()))
        if code != 0:
            return f"version {version} failed verify (exit {code})"
        return None

    def _run(self, command: str, release: Path, version: str, timeout: float) -> int:
        """Run one check; its exit code (124 when it ran out of time, 127 when it cannot start)."""
        if not command.strip():
            return 0
        argv = [part.format(release=release, version=version, root=self.root) for part in shlex.split(command)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s took over %.0f s", argv[0], timeout)
            return 124
        except OSError as e:
            log.error("cannot run %s: %s", argv[0], e)
            return 127
        if done.returncode:
            log.info("%s exited %d: %s", shlex.join(argv), done.returncode, done.stderr.strip()[-500:])
        return done.returncode

    def _prune(self, keep: set[str | None]) -> None:
        """Remove releases other than the current and the previous one."""
        for release in self.releases.iterdir():
            if release.name not in keep and not release.name.startswith("."):
                shutil.rmtree(release, ignore_errors=True)

    def status(self) -> dict[str, Any]:
        """The running release, those kept, what waits, and the last outcome."""
        try:
            last = json.loads((self.root / OUTCOME_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = None
        return {"root": str(self.root), "current": self.current_version(),
                "releases": sorted(p.name for p in self.releases.iterdir() if not p.name.startswith("."))
                if self.releases.is_dir() else [],
                "pending": sorted(p.name for p in self.pending.glob("*.tar")) if self.pending.is_dir() else [],
                "last": last}
