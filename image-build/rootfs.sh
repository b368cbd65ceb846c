# shellcheck shell=bash
# Sourced by build.sh: the arm64 root file system, built by mmdebstrap under qemu-user, with the kiosk's tree and
# the app in a release venv (customize.sh runs inside mmdebstrap's customize hook, with /proc, /sys, /dev mounted).
# shellcheck source-path=SCRIPTDIR

# Debian's Pi support (raspi-firmware is in non-free-firmware), the services the kiosk needs, and what Kivy's
# SDL2 needs to draw through KMS/DRM (GBM, EGL, GLES) without X.
IMAGE_PACKAGES=(
  systemd systemd-sysv systemd-timesyncd systemd-resolved udev dbus kmod
  linux-image-arm64 raspi-firmware initramfs-tools
  e2fsprogs dosfstools                                # fsck of the data and boot partitions
  fdisk                                               # sfdisk: the data partition grows to the card (first boot)
  pcscd libccid                                       # the IC card reader
  ca-certificates tzdata python3 iproute2
  libgbm1 libegl1 libgles2 libdrm2                    # SDL2's kmsdrm video driver
)

# Prints the project's version (pyproject.toml), which names its release directory.
app_version() {
  python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
    "$REPO/pyproject.toml"
}

# build_rootfs TREE ROOT: the whole root file system in directory ROOT.
build_rootfs() {
  local tree=$1 root=$2 include version
  # DEMO_PACKAGES: what the kiosk needs at run time, and its build tools (removed again by customize.sh)
  source "$REPO/image-build/bootstrap.sh"
  include=$(IFS=,; echo "${IMAGE_PACKAGES[*]},${DEMO_PACKAGES[*]}")
  version=$(app_version)
  local hook
  hook="bash $(printf %q "$HERE/customize.sh") \"\$1\" $(printf %q "$tree") $(printf %q "$REPO") $version"
  # The initramfs script and hook must be in place before the kernel's package builds the initramfs.
  nice -n 19 mmdebstrap --arch=arm64 --variant=minbase --components=main,non-free-firmware \
    --include="$include" \
    --essential-hook="mkdir -p \"\$1/etc\" && cp -a $(printf %q "$tree/rootfs/etc/.") \"\$1/etc/\"" \
    --customize-hook="$hook" \
    bookworm "$root" http://deb.debian.org/debian
}
