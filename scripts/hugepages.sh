#!/usr/bin/env bash
# Reserve hugepages for ditto-dataplane, now and (with --persist) at every
# boot.
#
#   hugepages.sh [--size 2M|1G] [--node N] [--group GROUP] [--persist] PAGES
#   hugepages.sh --show
#     PAGES         how many pages of that size to have reserved (0 frees
#                   them, and with --persist removes the boot-time files)
#     --size        page size, default 2M. 1 GiB pages are best reserved at
#                   boot, before memory fragments: a run-time request may
#                   get fewer than asked (the script says so)
#     --node N      on NUMA node N only (the NIC's: /sys/bus/pci/devices/
#                   ADDRESS/numa_node); default: the kernel spreads them
#     --group G     make the hugetlbfs mount group G, mode 1770, for a
#                   dataplane running as a non-root user without --in-memory
#     --persist     also at boot: vm.nr_hugepages in /etc/sysctl.d when
#                   the size is the kernel's default and no node is given
#                   (sysctl reaches only that size), a systemd-tmpfiles
#                   line writing the sysfs file otherwise; with --group, a
#                   drop-in for dev-hugepages.mount
#
# How much: the mbuf pool (dataplane: mbufs: x about 2.3 KiB), the zone
# images (about their file size in the state directory, twice during a
# swap), the rings, plus headroom; 1 GiB (512 x 2M) is plenty for a few
# million names. `ditto-dataplane` logs what it could not allocate.
set -euo pipefail

size=2M
node=
group=
persist=0
show=0
pages=

die() { echo "hugepages: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --size) size=${2:?}; shift 2 ;;
    --node) node=${2:?}; shift 2 ;;
    --group) group=${2:?}; shift 2 ;;
    --persist) persist=1; shift ;;
    --show) show=1; shift ;;
    -h | --help) usage ;;
    -*) echo "hugepages: unknown option $1" >&2; usage ;;
    *) [ -z "$pages" ] || usage; pages=$1; shift ;;
  esac
done

case $size in
  2M | 2m | 2048k | 2048kB) kb=2048; size=2M ;;
  1G | 1g | 1024M | 1048576k | 1048576kB) kb=1048576; size=1G ;;
  *) die "--size: 2M or 1G, not $size" ;;
esac

show_pages() {
  local d n
  for d in /sys/kernel/mm/hugepages/hugepages-*; do
    echo "$(basename "$d"): $(cat "$d/nr_hugepages") reserved, $(cat "$d/free_hugepages") free"
  done
  for n in /sys/devices/system/node/node[0-9]*; do
    [ -d "$n/hugepages" ] || continue
    for d in "$n"/hugepages/hugepages-*; do
      echo "  $(basename "$n") $(basename "$d"): $(cat "$d/nr_hugepages") reserved, $(cat "$d/free_hugepages") free"
    done
  done
  grep -w hugetlbfs /proc/mounts || echo "no hugetlbfs mounted"
}

if [ $show -eq 1 ]; then show_pages; exit 0; fi
[ -n "$pages" ] || usage
[[ $pages =~ ^[0-9]+$ ]] || die "PAGES: a count, not $pages"
[ -z "$node" ] || [[ $node =~ ^[0-9]+$ ]] || die "--node: a node number, not $node"
[ "$(id -u)" -eq 0 ] || die "must run as root"

if [ -n "$node" ]; then
  sys=/sys/devices/system/node/node$node/hugepages/hugepages-${kb}kB
  [ -d "/sys/devices/system/node/node$node" ] || die "no NUMA node $node"
else
  sys=/sys/kernel/mm/hugepages/hugepages-${kb}kB
fi
[ -d "$sys" ] || die "this kernel or CPU has no $size pages ($sys missing)"
default_kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
gid=
if [ -n "$group" ]; then
  gid=$(getent group "$group" | cut -d: -f3) || die "--group: no group $group"
fi

# At run time.
echo "$pages" >"$sys/nr_hugepages"
got=$(cat "$sys/nr_hugepages")
if [ "$got" -lt "$pages" ]; then
  echo "hugepages: only $got of $pages $size pages could be reserved now (memory fragmented?);" \
    "reserve them at boot (--persist, or for 1G the kernel command line:" \
    "default_hugepagesz=1G hugepagesz=1G hugepages=$pages)" >&2
fi
echo "hugepages: $got $size pages reserved${node:+ on node $node}"

if [ "$pages" -eq 0 ]; then
  # Freed: no mount to make; --persist undoes what it wrote before.
  if [ $persist -eq 1 ]; then
    rm -fv /etc/sysctl.d/80-ditto-hugepages.conf /etc/tmpfiles.d/ditto-hugepages.conf
  fi
  exit 0
fi

# The mount: /dev/hugepages (systemd's dev-hugepages.mount) serves the
# default size; another size needs a mount of its own, which DPDK finds in
# /proc/mounts.
if [ "$kb" -eq "$default_kb" ]; then
  mnt=/dev/hugepages
else
  mnt=/dev/hugepages-$size
fi
opts=pagesize=$size
[ -z "$group" ] || opts=$opts,mode=1770,gid=$gid
if mountpoint -q "$mnt"; then
  [ -z "$group" ] || mount -o "remount,mode=1770,gid=$gid" "$mnt"
else
  mkdir -p "$mnt"
  mount -t hugetlbfs -o "$opts" nodev "$mnt"
fi
echo "hugepages: hugetlbfs on $mnt ($opts)"

[ $persist -eq 1 ] || exit 0

# At boot.
if [ "$kb" -eq "$default_kb" ] && [ -z "$node" ]; then
  f=/etc/sysctl.d/80-ditto-hugepages.conf
  printf '# Written by ditto scripts/hugepages.sh: %s pages of %s for ditto-dataplane.\nvm.nr_hugepages = %s\n' \
    "$pages" "$size" "$pages" >"$f"
else
  # sysctl's vm.nr_hugepages is the default size on every node; anything
  # else is a sysfs file, which systemd-tmpfiles writes at boot.
  f=/etc/tmpfiles.d/ditto-hugepages.conf
  printf '# Written by ditto scripts/hugepages.sh: %s pages of %s for ditto-dataplane.\nw %s/nr_hugepages - - - - %s\n' \
    "$pages" "$size" "$sys" "$pages" >"$f"
  if [ "$size" = 1G ]; then
    echo "hugepages: for 1G pages the kernel command line is more reliable than a boot-time" \
      "write: GRUB_CMDLINE_LINUX=\"default_hugepagesz=1G hugepagesz=1G hugepages=$pages\" in" \
      "/etc/default/grub, then update-grub" >&2
  fi
fi
echo "hugepages: wrote $f"
if [ "$mnt" = /dev/hugepages ]; then
  if [ -n "$group" ]; then
    d=/etc/systemd/system/dev-hugepages.mount.d
    mkdir -p "$d"
    printf '# Written by ditto scripts/hugepages.sh: the dataplane runs as group %s.\n[Mount]\nOptions=mode=1770,gid=%s\n' \
      "$group" "$gid" >"$d/ditto.conf"
    echo "hugepages: wrote $d/ditto.conf"
  fi
else
  # A mount unit for the other size; its name is the escaped path.
  unit=/etc/systemd/system/$(systemd-escape --path --suffix=mount "$mnt")
  cat >"$unit" <<EOF
# Written by ditto scripts/hugepages.sh: $size hugepages for ditto-dataplane.
[Unit]
Description=Huge Pages File System ($size)
DefaultDependencies=no
Before=sysinit.target
ConditionPathExists=$sys

[Mount]
What=hugetlbfs
Where=$mnt
Type=hugetlbfs
Options=$opts

[Install]
WantedBy=sysinit.target
EOF
  echo "hugepages: wrote $unit (systemctl enable $(basename "$unit"); and add"
  echo "  Requires=/After= $(basename "$unit") to ditto-dataplane.service with a drop-in)"
fi
if command -v systemctl >/dev/null; then systemctl daemon-reload 2>/dev/null || true; fi
