"""Real wheels of a tiny `memberkiosk` distribution, signed bundles of them, and an update root with release 1.0.

The stub's console script `memberkiosk` answers `ready FILE` (writes its version there, as the kiosk's start
would) and `verify` (exit 0, or 3 in a bad build). The checks the updater runs are plain commands on those, so the
switch, the health wait and the rollback run for real without systemd.
"""
from __future__ import annotations

import base64
import ensurepip
import hashlib
import zipfile
from pathlib import Path
from typing import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mqtt.fleet import update_bundle
from mqtt.fleet.update_apply import Checks, Updater

STUB = '''import pathlib, sys
VERSION, VERIFY_EXIT = {version!r}, {verify_exit}
def main():
    if sys.argv[1:2] == ["ready"]:
        pathlib.Path(sys.argv[2]).write_text(VERSION)
    elif sys.argv[1:2] == ["verify"]:
        sys.exit(VERIFY_EXIT)
'''


def stub_wheel(directory: Path, version: str, verify_exit: int = 0) -> Path:
    """Write memberkiosk-VERSION-py3-none-any.whl: a console script `memberkiosk` that passes verify or not."""
    dist = f"memberkiosk-{version}.dist-info"
    files = {"mkstub.py": STUB.format(version=version, verify_exit=verify_exit),
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: memberkiosk\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
             f"{dist}/entry_points.txt": "[console_scripts]\nmemberkiosk = mkstub:main\n"}
    record = "".join(f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(body.encode()).digest()).rstrip(b'=').decode()},"
                     f"{len(body.encode())}\n" for name, body in files.items()) + f"{dist}/RECORD,,\n"
    path = directory / f"memberkiosk-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, body in {**files, f"{dist}/RECORD": record}.items():
            z.writestr(name, body)
    return path


def pip_wheel() -> Path:
    """A pip wheel from this Python (ensurepip's, or Debian's python3-pip-whl)."""
    for folder in (Path(ensurepip.__file__).parent / "_bundled", Path("/usr/share/python-wheels")):
        found = sorted(folder.glob("pip-*.whl"))
        if found:
            return found[-1]
    pytest.skip("no pip wheel on this machine (Debian: python3-pip-whl, which python3-venv brings)")


@pytest.fixture(scope="session")
def operator_key() -> Ed25519PrivateKey:
    """The operator's key for this session."""
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def make_bundle(tmp_path_factory: pytest.TempPathFactory, operator_key: Ed25519PrivateKey) -> Callable[..., Path]:
    """make_bundle(version, verify_exit=0, key=operator) -> a bundle file (cached per arguments)."""
    made: dict[tuple, Path] = {}

    def make(version: str, verify_exit: int = 0, key: Ed25519PrivateKey | None = None) -> Path:
        args = (version, verify_exit, id(key))
        if args not in made:
            house = tmp_path_factory.mktemp("wheelhouse")
            stub_wheel(house, version, verify_exit)
            (house / pip_wheel().name).write_bytes(pip_wheel().read_bytes())
            out = house.parent / f"{house.name}.tar"
            with out.open("wb") as f:
                update_bundle.build(house, version, key or operator_key, 1_000, f)
            made[args] = out
        return made[args]
    return make


class Site:
    """An update root with release 1.0 running (a shell script release), a pending folder and a run folder."""

    def __init__(self, base: Path, key: Ed25519PrivateKey, health_seconds: float = 10.0) -> None:
        self.root, self.pending, self.run = base / "opt", base / "data" / "updates" / "pending", base / "run"
        for d in (self.root / "releases" / "1.0" / "bin", self.pending, self.run):
            d.mkdir(parents=True)
        script = self.root / "releases" / "1.0" / "bin" / "memberkiosk"
        script.write_text('#!/bin/sh\n[ "$1" = ready ] && echo 1.0 > "$2"\nexit 0\n')
        script.chmod(0o755)
        (self.root / "current").symlink_to("releases/1.0")
        ready = self.run / "ready"
        checks = Checks(restart=f"{{release}}/bin/memberkiosk ready {ready}", ready=f"grep -qx {{version}} {ready}",
                        verify="{release}/bin/memberkiosk verify", health_seconds=health_seconds)
        self.updater = Updater(self.root, self.pending, key.public_key(), checks, lambda: 2_000)

    def stage(self, bundle: Path, command_id: str = "0b0e6a4e-1111-4222-8333-444455556666") -> Path:
        """Put `bundle` where the kiosk stages it."""
        path = self.pending / f"{command_id}.tar"
        path.write_bytes(bundle.read_bytes())
        return path

    def releases(self) -> list[str]:
        return sorted(p.name for p in (self.root / "releases").iterdir() if not p.name.startswith("."))


@pytest.fixture
def site(tmp_path: Path, operator_key: Ed25519PrivateKey) -> Site:
    """A kiosk's update root on release 1.0."""
    return Site(tmp_path, operator_key)

