# shellcheck shell=bash
# Sourced by build.sh: the file tree the image adds to Debian, the same for the dry run and the real build.
#   DIR/rootfs/  copied over the root file system (boot/firmware/ goes to the boot partition)
#   DIR/units    one "enable UNIT", "mask UNIT" or "default TARGET" a line, applied with systemctl --root

# Head-office units: shipped in systemd/ but not installed on a kiosk.
HEAD_OFFICE_UNITS=(memberkiosk-hub.service memberkiosk-web.service)
# Debian's own units the kiosk relies on: DHCP on the wired port, NTP (receipts and points expiry need the
# time), the card reader's daemon.
DEBIAN_UNITS=(systemd-networkd.service systemd-resolved.service systemd-timesyncd.service pcscd.socket)

# The kiosk's units from systemd/: every unit except the head office's.
kiosk_units() {
  local unit name
  for unit in "$REPO"/systemd/memberkiosk*.{service,timer,path,socket}; do
    [ -f "$unit" ] || continue
    name=$(basename "$unit")
    [[ " ${HEAD_OFFICE_UNITS[*]} " == *" $name "* ]] || echo "$name"
  done
}

# Writes the tree into $1 (made empty first).
stage_tree() {
  local dir=$1 root unit
  rm -rf "$dir"
  root=$dir/rootfs
  mkdir -p "$root"
  cp -a "$HERE/files/." "$root/"
  install -d "$root/etc/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" \
    "$root/etc/udev/rules.d" "$root/etc/memberkiosk" "$root/opt/memberkiosk" "$root/var/lib/memberkiosk" \
    "$root/srv/memberkiosk"
  : > "$dir/units"
  while read -r unit; do
    install -m 0644 "$REPO/systemd/$unit" "$root/etc/systemd/system/$unit"
    if grep -q '^\[Install\]' "$REPO/systemd/$unit"; then
      echo "enable $unit" >> "$dir/units"
    fi
  done < <(kiosk_units)
  cp -a "$REPO/systemd/memberkiosk-.service.d" "$root/etc/systemd/system/"
  install -m 0644 "$REPO/systemd/memberkiosk.sysusers" "$root/usr/lib/sysusers.d/memberkiosk.conf"
  install -m 0644 "$REPO/systemd/memberkiosk.tmpfiles" "$root/usr/lib/tmpfiles.d/memberkiosk.conf"
  install -m 0644 "$REPO/systemd/99-memberkiosk.rules" "$root/etc/udev/rules.d/99-memberkiosk.rules"
  chmod 0755 "$root/etc/initramfs-tools/scripts/init-bottom/memberkiosk-overlay" \
    "$root/etc/initramfs-tools/hooks/memberkiosk-overlay"
  chmod 0755 "$root/usr/lib/memberkiosk/first-boot"
  echo "enable appliance-firstboot.service" >> "$dir/units"
  for unit in "${DEBIAN_UNITS[@]}"; do
    echo "enable $unit" >> "$dir/units"
  done
  # tty1 is the kiosk's screen: no login prompt behind it
  echo "mask getty@tty1.service" >> "$dir/units"
  echo "default graphical.target" >> "$dir/units"
}
