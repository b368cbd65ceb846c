# shellcheck shell=bash
# Sourced by build.sh: the SD card image from the root directory, without loop devices: each partition is made
# as a file (mkfs.vfat + mcopy, mkfs.ext4 -d) and written into the image at its offset after sfdisk partitioned it.
#   1  RASPIFIRM  vfat  firmware, kernel, initrd, cmdline.txt, config.txt, memberkiosk.toml (field settings)
#   2  RASPIROOT  ext4  the root, mounted read-only under a RAM overlay
#   3  MKDATA     ext4  /srv/memberkiosk: the store, /etc/memberkiosk (identity, keys), /opt/memberkiosk (releases)

BOOT_MIB=256
DATA_MIB=1024

# assemble_image ROOT TREE OUT
assemble_image() {
  local root=$1 tree=$2 out=$3 parts kiosk root_mib
  parts=$(dirname "$tree")/parts
  mkdir -p "$parts/boot" "$parts/data"
  # What lives on the boot and data partitions leaves the root (its dirs stay, as mount points).
  mv "$root"/boot/firmware/* "$parts/boot/"
  kiosk=$(awk -F: '$1 == "kiosk" { print $3 ":" $4 }' "$root/etc/passwd")
  [ -n "$kiosk" ] || { echo "assemble.sh: the root has no kiosk user" >&2; exit 1; }
  install -d -m 0755 "$parts/data/opt"
  install -d -m 0750 -o "${kiosk%:*}" -g "${kiosk#*:}" "$parts/data/data" "$parts/data/etc"
  mv "$root"/opt/memberkiosk/* "$parts/data/opt/"

  mkfs.vfat -F 32 -n RASPIFIRM -C "$parts/boot.img" $((BOOT_MIB * 1024)) >/dev/null
  mcopy -s -p -i "$parts/boot.img" "$parts"/boot/* ::/
  root_mib=$(( $(du -sm "$root" | cut -f1) * 5 / 4 + 256 ))
  mkfs.ext4 -q -L RASPIROOT -d "$root" "$parts/root.img" "${root_mib}M"
  mkfs.ext4 -q -L MKDATA -d "$parts/data" "$parts/data.img" "${DATA_MIB}M"

  local boot_start=1 root_start data_start total
  root_start=$((boot_start + BOOT_MIB))
  data_start=$((root_start + root_mib))
  total=$((data_start + DATA_MIB))
  rm -f "$out"
  truncate -s "${total}M" "$out"
  sfdisk --quiet "$out" <<PARTS
label: dos
start=${boot_start}MiB, size=${BOOT_MIB}MiB, type=c, bootable
start=${root_start}MiB, size=${root_mib}MiB, type=83
start=${data_start}MiB, size=${DATA_MIB}MiB, type=83
PARTS
  dd if="$parts/boot.img" of="$out" bs=1M seek="$boot_start" conv=notrunc,sparse status=none
  dd if="$parts/root.img" of="$out" bs=1M seek="$root_start" conv=notrunc,sparse status=none
  dd if="$parts/data.img" of="$out" bs=1M seek="$data_start" conv=notrunc,sparse status=none
}
