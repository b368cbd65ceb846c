#!/usr/bin/env bash
# The kiosk's bootable Raspberry Pi 3/4 image (arm64, Debian 12 bookworm), from Debian's archive and PyPI alone:
#   bash image-build/build.sh OUT.img          build the image (as root; tens of minutes, mostly qemu-user)
#   bash image-build/build.sh --dry-run DIR    only assemble the file tree the image adds to Debian (seconds, no root)
# mmdebstrap builds the root under qemu-user; the disk is assembled without loop devices (assemble.sh), so this
# runs in a container. vmdb2 (Debian's own Pi image builder) is not used because it needs loop devices.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
source "$HERE/tree.sh"

usage() {
  echo "usage: bash image-build/build.sh OUT.img | --dry-run DIR" >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  if [ "$1" = --dry-run ]; then
    [ $# -eq 2 ] || usage
    stage_tree "$2"
    echo "file tree in $2/rootfs, units to enable in $2/units"
    return
  fi
  [ $# -eq 1 ] || usage
  [ "$(id -u)" -eq 0 ] || { echo "build.sh: building the image takes root (mmdebstrap, chroot)" >&2; exit 2; }
  source "$HERE/deps.sh"
  source "$HERE/rootfs.sh"
  source "$HERE/assemble.sh"
  local out work started=$SECONDS
  out=$(realpath -m "$1")
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/memberkiosk-image.XXXXXX")
  # kept when the build fails, for a look at the root (its path is printed)
  # shellcheck disable=SC2064  # expand $work now: the trap runs after main's locals are gone
  trap "[ \$? -eq 0 ] && rm -rf '$work' || echo 'build.sh: failed; the work dir is kept: $work' >&2" EXIT
  ensure_build_deps
  enable_binfmt
  stage_tree "$work/tree"
  build_rootfs "$work/tree" "$work/root"
  assemble_image "$work/root" "$work/tree" "$out"
  echo "built $out ($(du -h --apparent-size "$out" | cut -f1)) in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
}

main "$@"
