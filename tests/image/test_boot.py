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
DATA_MIB = 1024  # MKDATA as built (image-build/assemble.sh)
GROWN_BY = 1 << 30
MK = "/opt/memberkiosk/current/bin/memberkiosk"


def probe(watchdog: bool) -> str:
    """The shell command the kernel command line runs (systemd.run) once memberkiosk.service is active: each fact on
    the serial console after a marker line. With `watchdog`, the kiosk is then frozen (SIGSTOP: a hung main loop)
    and the real systemd must kill and restart it for its missed watchdog pings. No $(...): systemd expands `$`."""
    hang = (f"systemctl kill --signal=SIGSTOP memberkiosk.service; echo MK-FROZEN >{TTY}; "
            "until systemctl show -p NRestarts memberkiosk.service | grep -qv =0; do sleep 5; done; "
            f"journalctl -u memberkiosk.service | grep -q Watchdog.timeout && echo MK-WATCHDOG-RESTARTED >{TTY}; "
            if watchdog else "")
    return (
        "/bin/sh -c '"
        "until systemctl is-active -q memberkiosk.service; do sleep 2; done; "
        f"echo MK-ACTIVE >{TTY}; echo MK-ROOT >{TTY}; findmnt -n -o FSTYPE / >{TTY}; "
        f"echo MK-BOOT >{TTY}; findmnt -n -o OPTIONS /boot/firmware >{TTY}; "
        f"echo MK-DATA >{TTY}; lsblk -b -n -o SIZE /dev/disk/by-label/MKDATA >{TTY}; "
        f"echo MK-ID >{TTY}; cat /etc/machine-id /srv/memberkiosk/machine-id >{TTY}; "
        f"runuser -u kiosk -- {MK} demo --cli --demo-dir /tmp/mk-probe >/dev/null 2>&1; "
        f"runuser -u kiosk -- {MK} --data-dir /tmp/mk-probe verify >{TTY} 2>&1 "
        f"&& echo MK-VERIFY-OK >{TTY} || echo MK-VERIFY-FAILED >{TTY}; {hang}systemctl poweroff'"
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
    """The probe's line ending in `marker` (and the rest of its word) on the serial console: a getty's prompt may
    stand before it, and the kernel's echo of its command line has the markers followed by more; fails when qemu
    exits or the deadline passes."""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        found = re.search(rf"{marker}\S*(?=\r?$)", text, re.M)
        if found:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"qemu exited ({proc.returncode}): {log.with_suffix('.err').read_text()}\n{text[-3000:]}")
        time.sleep(5)
    raise AssertionError(f"no {marker} on the serial console in time:\n{log.read_text(errors='replace')[-3000:]}")


def test_the_image_boots_into_the_kiosk(image: Path, tmp_path: Path) -> None:
    """Two boots of one card (a copy-on-write disk 1 GiB larger than the image, as a new card is larger than the
    image written to it): the first grows the data partition and keeps the machine id; the second has the same id."""
    card = tmp_path / "card.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image), "-F", "raw", str(card),
                    str(image.stat().st_size + GROWN_BY)], check=True)
    kernel, initrd = boot_files(image, tmp_path)
    first = boot(card, kernel, initrd, tmp_path / "first", screen=tmp_path / "screen.ppm")
    second = boot(card, kernel, initrd, tmp_path / "second", watchdog=True)
    for text in (first, second):
        assert re.search(r"MK-VERIFY-OK\r?$", text, re.M), text[-3000:]
        assert after(text, "MK-ROOT") == ["overlay"], "the root is not the read-only overlay"
        assert "ro" in after(text, "MK-BOOT")[0].split(","), "the boot partition (field settings) is not mounted"
        assert int(after(text, "MK-DATA")[0]) >= (DATA_MIB << 20) + GROWN_BY, "the data partition did not grow"
    (id_1, kept_1), (id_2, kept_2) = after(first, "MK-ID", 2), after(second, "MK-ID", 2)
    assert re.fullmatch(r"[0-9a-f]{32}", id_1) and id_1 == kept_1, "the first boot did not keep its machine id"
    assert id_2 == id_1 == kept_2, "the second boot is another machine"
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "image-boot-first-screen.png"
    with Image.open(tmp_path / "screen.ppm") as screen:
        screen.save(png)
        low, high = zip(*screen.convert("RGB").getextrema())
    print(f"first screen: {png}")
    assert max(high) - min(low) > 64, "the screen is blank"


def boot(card: Path, kernel: Path, initrd: Path, work: Path, screen: Path | None = None,
         watchdog: bool = False) -> str:
    """One boot of `card` until the probe powers it off; its serial console's text. With `screen`, a QEMU
    screendump is taken there as soon as memberkiosk.service is active; with `watchdog`, the probe hangs the kiosk."""
    qemu = shutil.which("qemu-system-aarch64")
    assert qemu, "qemu-system-aarch64 is missing: apt-get install qemu-system-arm"
    work.mkdir()
    log, mon = work / "serial.log", work / "monitor.sock"
    append = (f'root=LABEL=RASPIROOT ro rootwait memberkiosk.overlay=1 consoleblank=0 console=ttyAMA0 quiet systemd.show_status=error '
              f'systemd.run="{probe(watchdog)}" systemd.wants=kernel-command-line.service '
              f'systemd.run_success_action=none systemd.run_failure_action=none')
    cmd = [qemu, "-M", "virt", "-cpu", "max", "-smp", "2", "-m", "2048", "-accel", "tcg,thread=multi",
           "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
           "-drive", f"file={card},if=none,format=qcow2,id=disk", "-device", "virtio-blk-pci,drive=disk",
           "-device", "virtio-gpu-pci", "-display", "none", "-netdev", "user,id=net", "-device",
           "virtio-net-pci,netdev=net,romfile=", "-serial", f"file:{log}", "-monitor", f"unix:{mon},server,nowait",
           "-no-reboot"]
    started = time.monotonic()
    with qemu_running(cmd, log.with_suffix(".err")) as proc:
        deadline = started + BOOT_SECONDS
        wait_for(log, "MK-ACTIVE", deadline, proc)
        print(f"{work.name} boot: memberkiosk.service active {time.monotonic() - started:.0f} s after qemu started")
        if screen:
            time.sleep(5)  # the first frame is up (READY=1); let the display scan it out
            monitor(mon, f"screendump {screen}")
        wait_for(log, "MK-VERIFY-", deadline, proc)
        if watchdog:
            wait_for(log, "MK-WATCHDOG-RESTARTED", deadline, proc)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))  # the probe powers off: the card is consistent
    return log.read_text(errors="replace")


def after(text: str, marker: str, count: int = 1) -> list[str]:
    """The `count` lines the probe wrote after its line `marker`."""
    found = re.search(rf"{marker}\r?\n" + r"(.*)\n" * count, text)
    assert found, f"no {marker} from the probe:\n{text[-3000:]}"
    return [line.strip() for line in found.groups()]


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
