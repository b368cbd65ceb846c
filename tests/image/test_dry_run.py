"""The image's dry run (`image-build/build.sh --dry-run DIR`): the file tree the image adds to Debian, checked
without building it. Every unit it enables is shipped in systemd/ and passes `systemd-analyze verify` as installed
(with the image's drop-ins); fstab, the kernel command line and the overlay script agree; the kiosk user has the
groups its units name; the boot partition's field settings load and leave a new kiosk unenrolled."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk import config
from tests.appliance.test_units import assert_exposure

REPO = Path(__file__).resolve().parents[2]
INSTALLED = "/opt/memberkiosk/current/bin/memberkiosk"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("image") / "tree"
    started = time.monotonic()
    subprocess.run(["bash", str(REPO / "image-build" / "build.sh"), "--dry-run", str(out)], check=True,
                   capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 5, "the dry run must stay fast"
    return out


def units(tree: Path, verb: str) -> list[str]:
    """The units the image applies `verb` (enable, mask, default) to."""
    lines = (tree / "units").read_text().splitlines()
    return [line.split()[1] for line in lines if line.split()[0] == verb]


def test_every_enabled_kiosk_unit_is_shipped_and_installed_as_shipped(tree: Path) -> None:
    ours = [u for u in units(tree, "enable") if u.startswith("memberkiosk")]
    assert "memberkiosk.service" in ours and "memberkiosk-verify.timer" in ours
    for unit in ours:
        shipped = REPO / "systemd" / unit
        assert shipped.is_file(), f"{unit} is enabled by the image but not shipped in systemd/"
        assert (tree / "rootfs/etc/systemd/system" / unit).read_bytes() == shipped.read_bytes()
    for trigger in (u for u in ours if u.endswith((".timer", ".path"))):
        started = trigger.rsplit(".", 1)[0] + ".service"
        assert (tree / "rootfs/etc/systemd/system" / started).is_file(), f"{trigger} starts {started}: not installed"


def test_the_head_office_units_stay_off_the_kiosk(tree: Path) -> None:
    installed = {p.name for p in (tree / "rootfs/etc/systemd/system").iterdir()}
    assert not installed & {"memberkiosk-hub.service", "memberkiosk-web.service"}


def test_every_file_the_image_installs_exists_in_the_tree(tree: Path) -> None:
    root = tree / "rootfs"
    for path in ("etc/fstab", "etc/default/raspi-extra-cmdline", "usr/lib/sysusers.d/memberkiosk.conf",
                 "usr/lib/tmpfiles.d/memberkiosk.conf", "etc/udev/rules.d/99-memberkiosk.rules",
                 "etc/systemd/system/memberkiosk-.service.d/50-hardening.conf",
                 "etc/systemd/system/memberkiosk.service.d/50-appliance.conf",
                 "etc/initramfs-tools/hooks/memberkiosk-overlay",
                 "etc/initramfs-tools/scripts/init-bottom/memberkiosk-overlay", "boot/firmware/memberkiosk.toml",
                 "etc/systemd/system/appliance-firstboot.service", "usr/lib/memberkiosk/first-boot"):
        assert (root / path).is_file(), path
    for script in ("hooks/memberkiosk-overlay", "scripts/init-bottom/memberkiosk-overlay"):
        assert os.access(root / "etc/initramfs-tools" / script, os.X_OK), f"initramfs-tools skips {script}: not executable"


def test_enabled_units_pass_systemd_analyze_verify_as_installed(tree: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    here = tmp_path / "system"
    shutil.copytree(tree / "rootfs/etc/systemd/system", here)
    for service in here.glob("*.service"):  # the console script that exists here, so verify can check ExecStart
        service.write_text(service.read_text().replace(INSTALLED, str(Path(sys.executable).parent / "memberkiosk")))
    enabled = [u for u in units(tree, "enable") if u.startswith(("memberkiosk", "appliance-"))]
    assert "appliance-firstboot.service" in enabled
    result = subprocess.run([analyze, "verify", "--man=no", *enabled], cwd=here, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_fstab_mounts_what_the_units_write_and_what_the_partitions_are_named(tree: Path) -> None:
    fstab = [line.split() for line in (tree / "rootfs/etc/fstab").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert all(len(fields) == 6 for fields in fstab), fstab
    mounts = {fields[1]: fields for fields in fstab}
    assert "/" not in mounts, "the root is the initramfs's read-only overlay, not fstab's"
    for path in ("/var/lib/memberkiosk", "/etc/memberkiosk", "/opt/memberkiosk", "/boot/firmware"):
        assert path in mounts and (tree / "rootfs" / path.lstrip("/")).is_dir(), f"{path}: no mount point"
    assert "ro" in mounts["/boot/firmware"][3].split(",")
    assemble = (REPO / "image-build/assemble.sh").read_text()
    for label in re.findall(r"LABEL=(\w+)", (tree / "rootfs/etc/fstab").read_text()):
        assert label in assemble, f"fstab mounts LABEL={label}, which assemble.sh does not make"
    dropin = (tree / "rootfs/etc/systemd/system/memberkiosk.service.d/50-appliance.conf").read_text()
    assert "RequiresMountsFor=/var/lib/memberkiosk /etc/memberkiosk /opt/memberkiosk" in dropin


def test_the_kernel_command_line_turns_on_the_overlay_and_keeps_the_screen_on(tree: Path) -> None:
    cmdline = (tree / "rootfs/etc/default/raspi-extra-cmdline").read_text().split()
    assert {"ro", "consoleblank=0", "memberkiosk.overlay=1"} <= set(cmdline)
    script = (tree / "rootfs/etc/initramfs-tools/scripts/init-bottom/memberkiosk-overlay").read_text()
    assert "memberkiosk.overlay=1" in script and "-t overlay" in script
    dropin = (tree / "rootfs/etc/systemd/system/memberkiosk.service.d/50-appliance.conf").read_text()
    assert "SDL_VIDEODRIVER=kmsdrm" in dropin and "KCFG_GRAPHICS_SHOW_CURSOR=0" in dropin


def test_the_kiosk_user_has_every_group_its_units_name(tree: Path, tmp_path: Path) -> None:
    sysusers = shutil.which("systemd-sysusers")
    if sysusers is None:
        pytest.skip("systemd-sysusers is not installed on this machine")
    if os.geteuid() != 0:
        pytest.skip("systemd-sysusers --root writes owned files: it takes root (CI runs as root)")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    conf = tree / "rootfs/usr/lib/sysusers.d/memberkiosk.conf"
    result = subprocess.run([sysusers, f"--root={root}", str(conf)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    assert passwd["kiosk"][6] == "/usr/sbin/nologin"
    members = {line.split(":")[0]: line.split(":")[3].split(",") for line in (root / "etc/group").read_text().splitlines()}
    service = (REPO / "systemd/memberkiosk.service").read_text()
    named = re.search(r"^SupplementaryGroups=(.*)$", service, re.M).group(1).split()
    for group in named + ["plugdev", "dialout", "lp"]:
        assert "kiosk" in members.get(group, []), f"kiosk is not in group {group}"
    assert re.search(r"^User=kiosk$", service, re.M) and "kiosk" in members


def test_the_boot_partition_settings_load_and_leave_a_new_kiosk_to_enrolment(tree: Path) -> None:
    settings = tree / "rootfs/boot/firmware/memberkiosk.toml"
    loaded = config.load(files=[settings], environ={})
    assert loaded["kiosk.id"] is None and loaded["sync.broker"] is None
    assert config.BOOT_FILE == Path("/boot/firmware") / settings.name


def test_a_filled_in_boot_partition_file_is_a_config_layer(tree: Path, tmp_path: Path) -> None:
    text = (tree / "rootfs/boot/firmware/memberkiosk.toml").read_text()
    filled = re.sub(r'^# (id|store_id|broker) = ("[^"]*")', r"\1 = \2", text, flags=re.M)
    settings = tmp_path / "memberkiosk.toml"
    settings.write_text(filled)
    loaded = config.load(files=[settings], environ={})
    assert (loaded["kiosk.id"], loaded["kiosk.store_id"]) == ("K01", "store-1")
    assert loaded["sync.broker"] == "mqtts://broker.example:8883" and loaded.layer("kiosk.id") == str(settings)


def test_the_first_boot_unit_is_root_with_only_the_capabilities_resizing_needs(tree: Path) -> None:
    """It partitions the card as root (BLKPG, the online ext4 resize), so it scores above the kiosk's own units;
    the threshold keeps it from losing the hardening it has."""
    assert_exposure("appliance-firstboot.service", tree / "rootfs/etc/systemd/system", 4.0)
