#!/usr/bin/env bash
# mmdebstrap's customize hook (rootfs.sh): the kiosk's files, the app in its release venv with its Cython kernels
# compiled for aarch64 (pip under qemu-user), the compilers removed again, the kiosk user, the units enabled.
#   customize.sh ROOT TREE REPO VERSION
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
root=$1 tree=$2 repo=$3 version=$4
release=/opt/memberkiosk/releases/$version
# Build tools from bootstrap.sh's DEMO_PACKAGES that the running kiosk does not need.
BUILD_ONLY=(python3-dev gcc pkg-config libpcsclite-dev swig)

in_root() {
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

cp -a "$tree/rootfs/." "$root/"

# Until the end of this hook pip reaches PyPI as the build machine does: through its resolver (systemd-resolved
# made the root's /etc/resolv.conf a link to its stub, which does not run in the chroot) and trusting its CAs (an
# egress proxy's may be among them). Neither stays in the image.
if [ -L "$root/etc/resolv.conf" ] || [ -e "$root/etc/resolv.conf" ]; then
  mv "$root/etc/resolv.conf" "$root/etc/resolv.conf.image"
  trap 'mv -f "$root/etc/resolv.conf.image" "$root/etc/resolv.conf"; rm -f "$root/tmp/build-ca.pem"' EXIT
else
  trap 'rm -f "$root/etc/resolv.conf" "$root/tmp/build-ca.pem"' EXIT
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/tmp/build-ca.pem"

pip_install() {
  in_root env PIP_CERT=/tmp/build-ca.pem "$release/bin/pip" install -q --no-cache-dir --disable-pip-version-check "$@"
}

# The app: the sources (without the developer's venv, tests and built x86 objects) installed into a fresh venv.
mkdir -p "$root/tmp/memberkiosk-src"
tar -C "$repo" --exclude=./.venv --exclude=./.git --exclude=./tests --exclude=./test-artifacts --exclude=./bench \
  --exclude='*.so' --exclude=__pycache__ --exclude=./build --exclude='*.egg-info' -cf - . |
  tar -C "$root/tmp/memberkiosk-src" -xf -
rm -rf "${root:?}$release"
in_root python3 -m venv "$release"
pip_install --upgrade pip setuptools wheel cython
pip_install --no-build-isolation "/tmp/memberkiosk-src[hardware,ui,sync]"
# the kernels must have compiled: the import fails instead of falling back to the reference
in_root env MEMBERKIOSK_REQUIRE_NATIVE=1 "$release/bin/python" -c "import native"
rm -rf "$root/tmp/memberkiosk-src"
ln -sfn "releases/$version" "$root/opt/memberkiosk/current"
install -m 0644 "$repo/README.md" "$root/opt/memberkiosk/README.md"

in_root apt-get purge -y -qq "${BUILD_ONLY[@]}" >/dev/null
in_root apt-get autoremove --purge -y -qq >/dev/null
in_root apt-get clean
# every kiosk flashed from this image gets its own machine id at boot, not the build's
: > "$root/etc/machine-id"

# The kiosk user, then the units (systemctl and sysusers of the host act on the root's files).
systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/memberkiosk.conf"
while read -r verb unit; do
  case $verb in
    enable) systemctl --root="$root" enable "$unit" ;;
    mask) systemctl --root="$root" mask "$unit" ;;
    default) systemctl --root="$root" set-default "$unit" ;;
  esac
done < "$tree/units"

# The boot partition's cmdline.txt is written by raspi-firmware's kernel hook from /etc/default/raspi-firmware
# (left unset, the root would be whatever the build machine's is) and raspi-extra-cmdline (files/): boot logs to
# the serial port, not the screen; then the hook runs again with them and its result is checked.
cat >> "$root/etc/default/raspi-firmware" <<'SETTINGS'

# memberkiosk (image-build/customize.sh)
ROOTPART="LABEL=RASPIROOT"
CONSOLES="tty0 ttyS1,115200"
SETTINGS
in_root env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware
grep -q "root=LABEL=RASPIROOT .*consoleblank=0" "$root/boot/firmware/cmdline.txt" ||
  { echo "customize.sh: cmdline.txt lacks the kiosk's settings:" >&2; cat "$root/boot/firmware/cmdline.txt" >&2; exit 1; }
