#!/usr/bin/env bash
# The README's test command: installs what the suite needs (Debian packages as root, a venv with the
# project and its extras, native kernels built) and runs the whole suite. The services the tests use
# (pcscd with the vpcd reader, mosquitto, Xvfb) are started and stopped by the tests' own fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3-venv python3-dev gcc pkg-config            # venv and compiling evdev, pyscard, the Cython kernels
  libpcsclite-dev swig pcscd vsmartcard-vpcd         # PC/SC stack with the virtual reader
  mosquitto                                          # MQTT broker for sync tests
  xvfb libgl1 libegl1 libgl1-mesa-dri                # Kivy UI rendered on a virtual screen
  fonts-wqy-microhei                                 # Chinese glyphs for the UI and receipt previews
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV=${MEMBERKIOSK_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip setuptools wheel cython
"$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation -e '.[all,test]'

export PYTHONDONTWRITEBYTECODE=1
exec "$VENV/bin/python" -m pytest "$@"
