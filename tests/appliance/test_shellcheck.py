"""shellcheck on every shell script in the repository, found by extension and by shebang, so a new script is
checked without being listed here."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "node_modules", "test-artifacts", "build", "__pycache__"}
SHEBANG = re.compile(rb"^#!\s*(/usr/bin/env\s+)?(/bin/|/usr/bin/)?(ba|da)?sh\b")
# The scripts the README and CI name: if discovery missed one of them, it would miss others.
KNOWN = {"image-build/bootstrap.sh", "image-build/build.sh", "tests/run.sh", ".ci/run", "kiosk/demo/run.sh"}


def shell_scripts() -> list[str]:
    """Every file ending in .sh or starting with a sh/bash/dash shebang, relative to the repository."""
    found = []
    for top, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")
                   and (d == ".ci" or not d.startswith("."))]  # caches (.pytest_cache, ...) hold no scripts
        for name in files:
            path = Path(top, name)
            if name.endswith(".sh") or _has_shell_shebang(path):
                found.append(str(path.relative_to(REPO)))
    return sorted(found)


def _has_shell_shebang(path: Path) -> bool:
    """Whether the file starts with #! and a Bourne-family shell."""
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as f:
        return SHEBANG.match(f.read(64)) is not None


def test_discovery_finds_the_known_scripts() -> None:
    assert KNOWN <= set(shell_scripts())


def test_every_shell_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck, in bootstrap.sh TEST_PACKAGES)")
    scripts = shell_scripts()
    # -x follows `source`; each script's source-path directive says where its sourced files are
    result = subprocess.run([shellcheck, "-x", "--format=gcc", *scripts], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    print(f"shellcheck: {len(scripts)} scripts")
    assert result.returncode == 0, result.stdout + result.stderr
