#!/usr/bin/env bash
# Installs what memberkiosk needs on Debian 12 (packages as root or via sudo, a venv with the project and
# its native kernels built). Sourced by the README's two commands, kiosk/demo/run.sh and tests/run.sh.
#   bootstrap demo|test
set -euo pipefail

DEMO_PACKAGES=(
  python3-venv python3-dev gcc pkg-config            # venv; compiling evdev, pyscard and the Cython kernels
  libpcsclite-dev swig                               # pyscard's build
  libusb-1.0-0                                       # pyusb, for USB receipt printers
  libgl1 libegl1 libgl1-mesa-dri                     # Kivy's window
  libmtdev1                                          # Kivy's mtdev input provider: multitouch on the touchscreen
  fonts-wqy-microhei                                 # Chinese glyphs for the UI and receipt previews
  espeak-ng alsa-utils                               # voice prompts: espeak-ng renders them, aplay plays them
)
TEST_PACKAGES=(
  pcscd vsmartcard-vpcd                              # a real PC/SC stack with the virtual reader
  mosquitto                                          # MQTT broker for sync tests
  xvfb                                               # a virtual screen for the UI tests
  systemd                                            # systemd-analyze verify for the units
  shellcheck                                         # every shell script in the repository
  postgresql                                         # the hub store's tests start a server of their own
  chromium chromium-driver                           # the web console's tests: headless Chromium under Selenium
)

bootstrap() {
  local profile=$1 missing=() pkg
  local packages=("${DEMO_PACKAGES[@]}")
  [ "$profile" = test ] && packages+=("${TEST_PACKAGES[@]}")
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  VENV=${MEMBERKIOSK_VENV:-.venv}
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip setuptools wheel cython
  local extras="all"; [ "$profile" = test ] && extras="all,test"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation -e ".[$extras]"
}
