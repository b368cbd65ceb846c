"""The built appliance image boots (opt-in: `-m image`; minutes under qemu's TCG): qemu-system-aarch64's virt
machine runs Debian's arm64 kernel and initrd from the image's boot partition on the image's own partitions
(virtio-blk, virtio-gpu, serial console to a file), with the Pi's command line settings (read-only overlay root).
A `systemd.run=` probe on the kernel command line reports over the serial console when memberkiosk.service is
active (Type=notify: its first frame is on screen), what the root is mounted as, and `memberkiosk verify`'s
verdict; then a QEMU monitor screendump of the kiosk's first screen is saved as a PNG in test-artifacts/.

The image is $MEMBERKIOSK_IMAGE, or built first with image-build/build.sh (as root, tens of minutes)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
BOOT_SECONDS = 2400  # TCG emulates every arm64 instruction: Kivy's first frame takes minutes
TTY = "/dev/ttyAMA0"
PROBE = (
    "/bin/sh -c '"
    "until systemctl is-active -q memberkiosk.service; do sleep 2; done; "
    f"echo MK-ACTIVE >{TTY}; echo MK-ROOT >{TTY}; findmnt -n -o FSTYPE / >{TTY}; "
    "runuser -u kiosk -- env MEMBERKIOSK_DATA_DIR=/var/lib/memberkiosk "
    f"/opt/memberkiosk/current/bin/memberkiosk verify --if-present >{TTY} 2>&1 "
    f"&& echo MK-VERIFY-OK >{TTY} || echo MK-VERIFY-FAILED >{TTY}'"
)

pytestmark = [pytest.mark.image, pytest.mark.timeout(BOOT_SECONDS + 3600)]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get("MEMBERKIOSK_IMAGE")
    if named:
        assert Path(named).is_file(), f"MEMBERKIOSK_IMAGE={named} is not a file"
        return Path(named)
    assert os.geteuid() == 0, "building the image takes root: run as root or set MEMBERKIOSK_IMAGE"
    out = tmp_path_factory.mktemp("image") / "memberkiosk.img"
    subprocess.run(["bash", str(REPO / "image-build/build.sh"), str(out)], check=True, timeout=3600)
    return out


def boot_files(image: Path, dest: Path) -> tuple[Path, Path]:
    """The kernel and initrd Debian's raspi-firmware put on the boot partition (partition 1, FAT)."""
    table = json.loads(subprocess.run(["sfdisk", "--json", str(image)], check=True, capture_output=True,
                                      text=True).stdout)["partitiontable"]
    where = f"{image}@@{table['partitions'][0]['start'] * table.get('sectorsize', 512)}"
    names = subprocess.run(["mdir", "-b", "-i", where, "::/"], check=True, capture_output=True, text=True).stdout
    found = {}
    for name in (line.strip().lstrip(":/").lstrip("/") for line in names.splitlines()):
        for prefix in ("vmlinuz-", "initrd.img-"):
            if name.startswith(prefix):
                subprocess.run(["mcopy", "-n", "-i", where, f"::/{name}", str(dest / prefix.rstrip("-"))], check=True)
                found[prefix] = dest / prefix.rstrip("-")
    assert set(found) == {"vmlinuz-", "initrd.img-"}, f"no kernel and initrd on the boot partition: {names}"
    return found["vmlinuz-"], found["initrd.img-"]


def monitor(sock_path: Path, command: str) -> None:
    """One command to the QEMU human monitor."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(sock_path))
        sock.recv(4096)  # the banner and prompt
        sock.sendall(command.encode() + b"\n")
        time.sleep(1)
        sock.recv(4096)


def wait_for(log: Path, marker: str, deadline: float, proc: subprocess.Popen) -> re.Match:
    """The probe's line starting with `marker` on the serial console (the kernel echoes its command line, where the
    markers stand mid-line); fails when qemu exits or the deadline passes."""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        found = re.search(rf"^{marker}.*$", text, re.M)
        if found:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"qemu exited ({proc.returncode}): {log.with_suffix('.err').read_text()}\n{text[-3000:]}")
        time.sleep(5)
    raise AssertionError(f"no {marker} on the serial console in time:\n{log.read_text(errors='replace')[-3000:]}")


def test_the_image_boots_into_the_kiosk(image: Path, tmp_path: Path) -> None:
    qemu = shutil.which("qemu-system-aarch64")
    assert qemu, "qemu-system-aarch64 is missing: apt-get install qemu-system-arm"
    kernel, initrd = boot_files(image, tmp_path)
    log, mon, ppm = tmp_path / "serial.log", tmp_path / "monitor.sock", tmp_path / "screen.ppm"
    append = (f'root=LABEL=RASPIROOT ro rootwait memberkiosk.overlay=1 consoleblank=0 console=ttyAMA0 '
              f'systemd.run="{PROBE}" systemd.run_success_action=none systemd.run_failure_action=none')
    cmd = [qemu, "-M", "virt", "-cpu", "max", "-smp", "2", "-m", "2048", "-accel", "tcg,thread=multi",
           "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
           "-drive", f"file={image},if=none,format=raw,id=disk,snapshot=on", "-device", "virtio-blk-pci,drive=disk",
           "-device", "virtio-gpu-pci", "-display", "none", "-netdev", "user,id=net", "-device",
           "virtio-net-pci,netdev=net,romfile=", "-serial", f"file:{log}", "-monitor", f"unix:{mon},server,nowait",
           "-no-reboot"]
    started = time.monotonic()
    with qemu_running(cmd, log.with_suffix(".err")) as proc:
        deadline = started + BOOT_SECONDS
        wait_for(log, "MK-ACTIVE", deadline, proc)
        active = time.monotonic() - started
        time.sleep(5)  # the first frame is up (READY=1); let the display scan it out
        monitor(mon, f"screendump {ppm}")
        verdict = wait_for(log, "MK-VERIFY-", deadline, proc)
    print(f"memberkiosk.service active {active:.0f} s after qemu started")
    text = log.read_text(errors="replace")
    assert verdict.group().strip() == "MK-VERIFY-OK", text[-3000:]
    root = re.search(r"^MK-ROOT\s*\n(\S+)", text, re.M)
    assert root and root.group(1) == "overlay", f"the root is not the read-only overlay: {root and root.group(1)}"
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "image-boot-first-screen.png"
    with Image.open(ppm) as screen:
        screen.save(png)
        low, high = zip(*screen.convert("RGB").getextrema())
    print(f"first screen: {png}")
    assert max(high) - min(low) > 64, "the screen is blank"


@contextmanager
def qemu_running(cmd: list[str], errors: Path) -> Iterator[subprocess.Popen]:
    """qemu started with its stderr in `errors`, and stopped (then killed) when the block ends."""
    with errors.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
