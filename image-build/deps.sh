# shellcheck shell=bash
# Sourced by build.sh: the host's build tools, and qemu-user for arm64 binaries (binfmt_misc).

BUILD_DEPS=(mmdebstrap qemu-user-static binfmt-support dosfstools mtools e2fsprogs fdisk arch-test)

# Installs the build tools that are missing (Debian 12 host, as root).
ensure_build_deps() {
  local missing=() pkg
  for pkg in "${BUILD_DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "installing build tools: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Lets the kernel run arm64 binaries through qemu-aarch64-static, so the root's maintainer scripts and pip run.
enable_binfmt() {
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  if ! arch-test arm64 >/dev/null; then
    echo "build.sh: this machine cannot run arm64 binaries (binfmt_misc with qemu-aarch64); see deps.sh" >&2
    exit 1
  fi
}
