#!/usr/bin/env bash
# Run the node on a local lab: client, node and primary network namespaces
# joined by veths; ditto-dataplane owns the node's end of the service wire
# through DPDK (af_xdp, or af_packet) and serves the example zone; the
# kernel behind its exception TAP holds the service addresses. Then it asks
# the node a few questions from the client namespace, through DPDK.
#
#   scripts/run.sh                 set up, build, bring the lab up, query it
#   scripts/run.sh --offline [Q]   no DPDK: answer questions from the image
#                                  with ditto-zone (as before the lab)
# The lab stays up afterwards; scripts/lab.sh down takes it away.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
if [ "${1:-}" = --offline ]; then
  shift
  state=$(mktemp -d /tmp/ditto-run.XXXXXX)
  build/control/ditto-zone compile tests/zones/example.com.zone -o "$state/example.com.img"
  [ $# -gt 0 ] || set -- 'www.example.com. A' 'example.com. MX' \
    'nosuch.example.com. AAAA' 'x.wild.example.com. TXT' \
    'host.sub.example.com. A' 'id.server. TXT +chaos'
  exec /usr/bin/python3 scripts/ask.py build/control/ditto-zone "$state/example.com.img" "$@"
fi
[ "$(id -u)" -eq 0 ] || { echo "run.sh: the lab needs root (namespaces, hugepages, XDP)" >&2; exit 1; }
scripts/lab.sh up --build build --zone tests/zones/example.com.zone
ask() { echo "\$ dig $*"; ip netns exec ditto-client dig +time=2 +tries=2 "$@" | grep -vE '^;; (Query time|WHEN|MSG SIZE)|^$'; echo; }
ask @192.0.2.53 www.example.com A +nsid
ask @2001:db8::53 example.com MX +norec
ask @192.0.2.53 nosuch.example.com AAAA
ask @198.51.100.53 x.wild.example.com TXT   # through 802.1Q VLAN 100
ask @192.0.2.53 id.server TXT CH
ip netns exec ditto-client ping -c 2 -W 2 192.0.2.53 | tail -2
echo
echo "The lab stays up. Look at it: scripts/lab.sh status; ask it: scripts/lab.sh client dig @192.0.2.53 ..."
echo "Its control socket: ${LAB_DIR:-/tmp/ditto-lab}/dataplane.sock. Take it down: scripts/lab.sh down"
