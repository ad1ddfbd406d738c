#!/usr/bin/env bash
# Give the dataplane's exception TAP its kernel addresses: ditto-dataplane
# creates the TAP (ditto0) when it starts and it vanishes when it stops,
# taking its addresses along, so they are put back after every start (the
# ditto-dataplane unit's ExecStartPost).
#
#   ditto-tap-addresses.sh [--interface IF] [--timeout SEC] ADDRESS/PREFIX...
#     --interface IF  the TAP (dataplane: exception-interface:, default ditto0)
#     --timeout SEC   how long to wait for it to appear (default 120: EAL
#                     and port start-up with many hugepages take a while)
#
# Give the node's link addresses first (the ones BIRD peers from, e.g.
# 203.0.113.2/30 2001:db8:ffff::2/64), then the service addresses as /32
# and /128 (192.0.2.53/32 2001:db8::53/128): the kernel needs those too, for
# ARP and ND, ICMP, and DNS over TCP, which the dataplane answers on kernel
# sockets bound to them. Idempotent (ip addr replace). IPv6 addresses are
# added without duplicate address detection: the dataplane's port is the
# only owner of this MAC on the wire, and a tentative address could not
# carry the BGP session for a second or two after every restart.
set -euo pipefail

ifname=ditto0
timeout_s=120
while [ $# -gt 0 ]; do
  case $1 in
    --interface) ifname=${2:?}; shift 2 ;;
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    -*) echo "ditto-tap-addresses: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "ditto-tap-addresses: no addresses given" >&2; exit 2; }
[[ $timeout_s =~ ^[0-9]+$ ]] || { echo "ditto-tap-addresses: --timeout: seconds, not '$timeout_s'" >&2; exit 2; }

for ((i = 0; i < timeout_s * 10; i++)); do
  [ -e "/sys/class/net/$ifname" ] && break
  sleep 0.1
done
if [ ! -e "/sys/class/net/$ifname" ]; then
  echo "ditto-tap-addresses: no $ifname after $timeout_s s (did ditto-dataplane start?)" >&2
  exit 1
fi

# No router advertisements or autoconfiguration on the TAP: its addresses
# are exactly these.
sysctl -q -w "net.ipv6.conf.$ifname.accept_ra=0" "net.ipv6.conf.$ifname.autoconf=0" 2>/dev/null || true
ip link set "$ifname" up
for a in "$@"; do
  case $a in
    */*) ;;
    *:*) a=$a/128 ;;
    *) a=$a/32 ;;
  esac
  if [[ $a == *:* ]]; then
    ip -6 addr replace "$a" dev "$ifname" nodad
  else
    ip -4 addr replace "$a" dev "$ifname"
  fi
done
echo "ditto-tap-addresses: $ifname has $*"
