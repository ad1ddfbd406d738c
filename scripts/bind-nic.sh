#!/usr/bin/env bash
# Hand a NIC to DPDK (vfio-pci) and give it back to the kernel, with
# dpdk-devbind.py from Debian's dpdk package.
#
#   bind-nic.sh bind [--group GROUP] [--noiommu] PCI...
#       onto vfio-pci; the kernel driver it had is remembered for unbind.
#       --group: the IOMMU group's device /dev/vfio/N to GROUP, mode 0660,
#       so that a dataplane running as that group may open it. Idempotent:
#       a NIC already on vfio-pci only gets the permissions (this is what
#       the ditto-dataplane unit runs before every start).
#       --noiommu: allow vfio's no-IOMMU mode on a machine without an IOMMU
#       (unsafe: the NIC can DMA anywhere; the dataplane then needs
#       CAP_SYS_ADMIN and CAP_SYS_RAWIO and --iova-mode=pa)
#   bind-nic.sh unbind [--driver DRIVER] PCI...
#       back to the kernel driver it had before (or DRIVER, e.g. ice, i40e,
#       mlx5_core, ixgbe)
#   bind-nic.sh status
#
# PCI addresses as `dpdk-devbind.py --status` or `lspci -D` print them
# (0000:3b:00.0). dpdk-devbind.py refuses a NIC whose interface is up with
# routes (the one you are logged in through, say); that refusal is final
# here too. Mellanox/NVIDIA NICs (mlx5) stay on their kernel driver: DPDK
# drives them through it (bifurcated), nothing to bind.
set -euo pipefail

devbind=$(command -v dpdk-devbind.py || echo /usr/bin/dpdk-devbind.py)
state=/var/lib/ditto/nic

die() { echo "bind-nic: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

[ -x "$devbind" ] || die "no dpdk-devbind.py (apt-get install dpdk)"

cmd=${1:-}
[ $# -eq 0 ] || shift
group=
driver=
noiommu=0
pcis=()
while [ $# -gt 0 ]; do
  case $1 in
    --group) group=${2:?}; shift 2 ;;
    --driver) driver=${2:?}; shift 2 ;;
    --noiommu) noiommu=1; shift ;;
    -h | --help) usage ;;
    -*) echo "bind-nic: unknown option $1" >&2; usage ;;
    *) pcis+=("$1"); shift ;;
  esac
done

current_driver() {
  local link=/sys/bus/pci/devices/$1/driver
  [ -e "$link" ] && basename "$(readlink -f "$link")" || echo none
}

check_pci() {
  [[ $1 =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] ||
    die "'$1' is not a PCI address like 0000:3b:00.0"
  [ -e "/sys/bus/pci/devices/$1" ] || die "no PCI device $1"
}

vfio_ready() {
  modprobe vfio-pci
  if [ -z "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ]; then
    [ $noiommu -eq 1 ] ||
      die "no IOMMU groups: enable the IOMMU (intel_iommu=on or amd_iommu=on iommu=pt on the kernel command line, VT-d/AMD-Vi in the firmware), or pass --noiommu"
    echo 1 >/sys/module/vfio/parameters/enable_unsafe_noiommu_mode
  fi
}

give_group() {
  local pci=$1 g dev
  [ -n "$group" ] || return 0
  getent group "$group" >/dev/null || die "--group: no group $group"
  g=$(basename "$(readlink -f "/sys/bus/pci/devices/$pci/iommu_group")")
  dev=/dev/vfio/$g
  [ -e "$dev" ] || dev=/dev/vfio/noiommu-$g
  [ -e "$dev" ] || die "$pci: no $dev after binding"
  chgrp "$group" "$dev"
  chmod 0660 "$dev"
  echo "bind-nic: $pci: $dev to group $group"
}

do_bind() {
  local pci=$1 was
  was=$(current_driver "$pci")
  if [ "$was" = vfio-pci ]; then
    echo "bind-nic: $pci is on vfio-pci already"
  else
    mkdir -p "$state"
    [ "$was" = none ] || echo "$was" >"$state/$pci.driver"
    "$devbind" --bind=vfio-pci "$pci"
    [ "$(current_driver "$pci")" = vfio-pci ] ||
      die "$pci: still on $(current_driver "$pci") (dpdk-devbind.py refused; is its interface up?)"
    echo "bind-nic: $pci: $was -> vfio-pci"
  fi
  give_group "$pci"
}

do_unbind() {
  local pci=$1 to=$driver
  [ -n "$to" ] || to=$(cat "$state/$pci.driver" 2>/dev/null || true)
  [ -n "$to" ] || die "$pci: which kernel driver? none remembered: give --driver"
  "$devbind" --bind="$to" "$pci"
  echo "bind-nic: $pci: $(current_driver "$pci")"
  rm -f "$state/$pci.driver"
}

case $cmd in
  bind | unbind)
    [ ${#pcis[@]} -gt 0 ] || usage
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    for p in "${pcis[@]}"; do check_pci "$p"; done
    if [ "$cmd" = bind ]; then
      vfio_ready
      for p in "${pcis[@]}"; do do_bind "$p"; done
    else
      for p in "${pcis[@]}"; do do_unbind "$p"; done
    fi
    ;;
  status) "$devbind" --status-dev net ;;
  *) usage ;;
esac
