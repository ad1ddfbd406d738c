#!/usr/bin/env bash
# The lab: network namespaces and veths in which ditto-dataplane owns the
# node's end of the service wire, for the README's run, the integration
# tests and the benchmarks.
#
#   scripts/lab.sh up [--driver af_xdp|af_packet] [--build DIR] [--zone ZONEFILE ...]
#                          topology, hugepages, zones, dataplane, addresses
#   scripts/lab.sh topo    the namespaces and wires only (peers on the same wires)
#   scripts/lab.sh start [options of up] [--keep-state]
#                          start the dataplane on the existing topology;
#                          --keep-state starts from the images the state
#                          directory holds (plus any --zone) instead of anew
#   scripts/lab.sh stop    stop the dataplane, keep the topology
#   scripts/lab.sh down    stop the dataplane and remove the topology
#   scripts/lab.sh status
#   scripts/lab.sh client|node|primary CMD...   run CMD in that namespace
#
#   ditto-client                 ditto-node                       ditto-primary
#   dc0      192.0.2.10/24  ==== dn0 (DPDK port, no addresses)
#            2001:db8::10/64     ditto0 (exception TAP, kernel):
#   dc0.100  198.51.100.10/24           192.0.2.53/24 2001:db8::53/64
#            2001:db8:100::10/64 ditto0.100 198.51.100.53/24 2001:db8:100::53/64
#                                mn0 10.53.0.2/24 ==== mp0 10.53.0.1/24
#                                    fd53::2/64           fd53::1/64
#
# Namespaces: $LAB_NS_PREFIX-client and so on (default ditto-...).
# Lab directory: $LAB_DIR, default /tmp/ditto-lab (config, state, log,
# pid, socket). The driver is af_xdp, falling back to af_packet when the
# dataplane does not come up or does not answer with it; --driver forces one.
# Hugepages are reserved (LAB_HUGEPAGES 2 MiB pages free, default 256) and
# left reserved by down.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lab=${LAB_DIR:-/tmp/ditto-lab}
# LAB_NS_PREFIX names the namespaces (default "ditto": ditto-client...),
# so that two labs can stand side by side on one machine.
ns_prefix=${LAB_NS_PREFIX:-ditto}
NS_CLIENT=$ns_prefix-client
NS_NODE=$ns_prefix-node
NS_PRIMARY=$ns_prefix-primary
START_TIMEOUT=${LAB_START_TIMEOUT:-30}

log() { echo "lab: $*" >&2; }
die() { log "$*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_exists() { [ -e "/run/netns/$1" ]; }

[ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, hugepages, XDP)"

# --- topology ---------------------------------------------------------------

topo_down() {
  local ns l
  for ns in $NS_CLIENT $NS_NODE $NS_PRIMARY; do
    if ns_exists "$ns"; then
      local pids
      pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
      [ -z "$pids" ] || log "warning: processes still in $ns (not ours to stop): $pids"
      ip netns del "$ns"
    fi
  done
  # Leftovers of a run that died between creating a veth and moving it.
  for l in dc0 dn0 mn0 mp0; do
    ip link del "$l" 2>/dev/null || true
  done
}

# Offloads that break a userspace port on a veth: a checksum left for the
# hardware (tx on) arrives unfinished at af_packet/AF_XDP and then at the
# node's kernel through the TAP, which drops it; TSO/GSO/GRO hand af_packet
# frames larger than an mbuf; a VLAN tag in skb metadata (txvlan/rxvlan) is
# invisible to XDP and to the dataplane's 802.1Q parser.
veth_plain() {
  local ns=$1 dev=$2
  in_ns "$ns" ethtool -K "$dev" rx off tx off tso off gso off gro off \
    txvlan off rxvlan off >/dev/null 2>&1 ||
    in_ns "$ns" ethtool -K "$dev" tx off >/dev/null 2>&1 ||
    log "warning: could not disable offloads on $dev (ethtool missing?)"
}

topo_up() {
  command -v ethtool >/dev/null || die "ethtool missing: run scripts/setup.sh"
  topo_down
  local ns
  for ns in $NS_CLIENT $NS_NODE $NS_PRIMARY; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done

  # Service wire: client <-> node (the node end belongs to the dataplane).
  # One queue each way: a veth has one per CPU by default, and frames on a
  # queue the dataplane does not poll (queue_count=1) would go to the kernel.
  ip link add dc0 netns $NS_CLIENT numtxqueues 1 numrxqueues 1 type veth \
    peer name dn0 netns $NS_NODE numtxqueues 1 numrxqueues 1
  veth_plain $NS_CLIENT dc0
  veth_plain $NS_NODE dn0
  ip -n $NS_CLIENT addr add 192.0.2.10/24 dev dc0
  ip -n $NS_CLIENT addr add 2001:db8::10/64 dev dc0 nodad
  ip -n $NS_CLIENT link set dc0 up
  vlan_add $NS_CLIENT dc0 100 198.51.100.10/24 2001:db8:100::10/64
  ip -n $NS_NODE link set dn0 up

  # Management wire: node <-> hidden primary, plain kernel networking.
  ip link add mn0 netns $NS_NODE type veth peer name mp0 netns $NS_PRIMARY
  ip -n $NS_NODE addr add 10.53.0.2/24 dev mn0
  ip -n $NS_NODE addr add fd53::2/64 dev mn0 nodad
  ip -n $NS_NODE link set mn0 up
  ip -n $NS_PRIMARY addr add 10.53.0.1/24 dev mp0
  ip -n $NS_PRIMARY addr add fd53::1/64 dev mp0 nodad
  ip -n $NS_PRIMARY link set mp0 up
}

# 802.1Q: TRUNK.VID, a VLAN device on TRUNK with the addresses given. This
# machine's kernel is built without the VLAN driver (CONFIG_VLAN_8021Q), so
# where `type vlan` is refused TRUNK.VID is one end of a veth pair instead,
# with TRUNK's MAC, and two tc BPF programs do the driver's job: at the
# ingress of the other end (TRUNKvVID) frames get the tag and leave by
# TRUNK; at TRUNK's ingress frames of VID lose it and go to TRUNK.VID. The
# wire sees the same tagged frames either way.
vlan_add() {
  local ns=$1 trunk=$2 vid=$3 addr4=$4 addr6=$5
  local dev=$trunk.$vid peer=${trunk}v$vid mac
  mac=$(ip netns exec "$ns" cat "/sys/class/net/$trunk/address")
  if ! ip -n "$ns" link add link "$trunk" name "$dev" type vlan id "$vid" 2>/dev/null; then
    vlan_emulate "$ns" "$trunk" "$vid" "$dev" "$peer" "$mac" ||
      { log "warning: no VLAN $vid on $trunk in $ns"; return 0; }
  fi
  ip -n "$ns" addr add "$addr4" dev "$dev"
  ip -n "$ns" addr add "$addr6" dev "$dev" nodad
  ip -n "$ns" link set "$dev" up
}

vlan_emulate() {
  local ns=$1 trunk=$2 vid=$3 dev=$4 peer=$5 mac=$6 obj=$lab/vlan/$2v$3
  local inc trunk_ifindex peer_ifindex
  command -v clang >/dev/null || { log "clang missing: no VLAN emulation"; return 1; }
  mkdir -p "$lab/vlan"
  vlan_bpf_source >"$lab/vlan/vlan.c"
  ip -n "$ns" link del "$dev" 2>/dev/null || true
  ip -n "$ns" link add "$dev" address "$mac" type veth peer name "$peer"
  in_ns "$ns" ethtool -K "$dev" tx off txvlan off rxvlan off >/dev/null 2>&1 || true
  ip -n "$ns" link set "$peer" up
  trunk_ifindex=$(ip netns exec "$ns" cat "/sys/class/net/$trunk/ifindex")
  peer_ifindex=$(ip netns exec "$ns" cat "/sys/class/net/$peer/ifindex")
  inc=/usr/include/$(uname -m)-linux-gnu
  clang -O2 -target bpf -I"$inc" -DVID="$vid" -DTAG -DIFINDEX="$trunk_ifindex" \
    -c "$lab/vlan/vlan.c" -o "$obj-tag.o" &&
    clang -O2 -target bpf -I"$inc" -DVID="$vid" -DIFINDEX="$peer_ifindex" \
      -c "$lab/vlan/vlan.c" -o "$obj-untag.o" &&
    in_ns "$ns" tc qdisc replace dev "$peer" clsact &&
    in_ns "$ns" tc filter replace dev "$peer" ingress bpf da obj "$obj-tag.o" sec tc &&
    in_ns "$ns" tc qdisc replace dev "$trunk" clsact &&
    in_ns "$ns" tc filter replace dev "$trunk" ingress bpf da obj "$obj-untag.o" sec tc
}

vlan_bpf_source() {
  cat <<'EOF'
/* 802.1Q at tc ingress, for scripts/lab.sh. TAG: push VID and send out of
 * IFINDEX (the trunk). Otherwise: frames of VID lose their tag and are sent
 * out of IFINDEX (the veth to the VLAN's device); the rest pass. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

static long (*skb_vlan_push)(struct __sk_buff *, __u16, __u16) =
	(void *)BPF_FUNC_skb_vlan_push;
static long (*skb_vlan_pop)(struct __sk_buff *) = (void *)BPF_FUNC_skb_vlan_pop;
static long (*redirect)(__u32, __u64) = (void *)BPF_FUNC_redirect;

__attribute__((section("tc"), used))
int vlan(struct __sk_buff *skb)
{
#ifdef TAG
	if (skb_vlan_push(skb, __builtin_bswap16(ETH_P_8021Q), VID) != 0)
		return TC_ACT_SHOT;
#else
	if (!skb->vlan_present || (skb->vlan_tci & 0x0fff) != VID)
		return TC_ACT_OK;
	if (skb_vlan_pop(skb) != 0)
		return TC_ACT_SHOT;
#endif
	return redirect(IFINDEX, 0);
}

char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
}

topo_require() {
  if ! { ns_exists $NS_CLIENT && ns_exists $NS_NODE && ns_exists $NS_PRIMARY &&
    ip -n $NS_NODE link show dn0 >/dev/null 2>&1; }; then
    die "no lab topology: run scripts/lab.sh topo (or up)"
  fi
}

# With af_packet the node's kernel receives every frame of dn0 too (a packet
# socket taps, it does not steal): it would answer ARP for the service
# addresses, send ICMP port unreachable for the queries and reset the TCP
# connections the exception path carries. Keep it off dn0 while the
# dataplane owns it: no IPv6, no ARP, and IPv4 dropped by strict reverse-path
# filtering (the clients are reached through ditto0, not dn0).
dn0_isolate() {
  in_ns $NS_NODE sysctl -q -w net.ipv6.conf.dn0.disable_ipv6=1 \
    net.ipv4.conf.dn0.arp_ignore=8 net.ipv4.conf.dn0.rp_filter=1
}

dn0_release() {
  ns_exists $NS_NODE || return 0
  ip -n $NS_NODE link show dn0 >/dev/null 2>&1 || return 0
  in_ns $NS_NODE sysctl -q -w net.ipv6.conf.dn0.disable_ipv6=0 \
    net.ipv4.conf.dn0.arp_ignore=0 net.ipv4.conf.dn0.rp_filter=0 || true
  # An AF_XDP port killed without its clean-up leaves its XDP program on.
  ip -n $NS_NODE link set dn0 xdp off 2>/dev/null || true
}

# --- hugepages --------------------------------------------------------------

hugepages_reserve() {
  local want=${LAB_HUGEPAGES:-256}
  local sys=/sys/kernel/mm/hugepages/hugepages-2048kB
  local free total
  free=$(cat $sys/free_hugepages)
  if [ "$free" -lt "$want" ]; then
    total=$(cat $sys/nr_hugepages)
    echo $((total + want - free)) >$sys/nr_hugepages
    free=$(cat $sys/free_hugepages)
    [ "$free" -ge "$want" ] ||
      log "warning: only $free free 2 MiB hugepages of $want asked"
  fi
  if ! mountpoint -q /dev/hugepages; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
  fi
}

# --- the dataplane ----------------------------------------------------------

# Wait until process PID is gone, at most TENTHS tenths of a second.
wait_gone() {
  local n=$2
  while [ "$n" -gt 0 ] && kill -0 "$1" 2>/dev/null; do
    sleep 0.1
    n=$((n - 1))
  done
}

dataplane_pid() {
  local pid
  [ -f "$lab/dataplane.pid" ] || return 1
  pid=$(cat "$lab/dataplane.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q ditto-dataplane || return 1
  echo "$pid"
}

dataplane_stop() {
  local pid
  if pid=$(dataplane_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 100
    if kill -0 "$pid" 2>/dev/null; then
      log "dataplane $pid did not stop in 10 s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 50
    fi
  fi
  rm -f "$lab/dataplane.pid" "$lab/dataplane.sock"
  # An emulated ditto0.100 is a veth that outlives the TAP.
  if ns_exists $NS_NODE; then
    ip -n $NS_NODE link del ditto0.100 2>/dev/null || true
  fi
  dn0_release
}

# One line of JSON to the dataplane socket, the first line of the answer back.
dataplane_ask() {
  /usr/bin/python3 - "$lab/dataplane.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
PY
}

write_config() {
  cat >"$lab/ditto.yaml" <<EOF
# Written by scripts/lab.sh; rewritten on every start.
node:
  identity: lab-node
  state-dir: $lab/state
dataplane:
  socket: $lab/dataplane.sock
  port: 0
  workers: 1
  service-addresses: [192.0.2.53, 198.51.100.53, "2001:db8::53", "2001:db8:100::53"]
  service-port: 53
  exception-interface: ditto0
  edns-size: 1232
  idle-sleep-us: 20
EOF
}

vdev_of() {
  case $1 in
    af_xdp) echo "net_af_xdp0,iface=dn0,start_queue=0,queue_count=1" ;;
    af_packet) echo "net_af_packet0,iface=dn0" ;;
  esac
}

# Launch the dataplane with one driver and wait for its TAP and socket.
# 0: up; 1: failed (the log says why).
dataplane_launch() {
  local driver=$1 pid='' _
  echo "=== lab: $(date '+%F %T') starting with $driver" >>"$lab/dataplane.log"
  rm -f "$lab/dataplane.pid" "$lab/dataplane.sock"
  # setsid: its own session, so a ^C in the shell that ran `up` leaves it be;
  # the pid is written by the process that then becomes the dataplane.
  setsid /bin/sh -c 'echo $$ >"$0"; exec "$@"' "$lab/dataplane.pid" \
    ip netns exec $NS_NODE "$bin" -l 0,1 --in-memory --no-pci \
    --vdev "$(vdev_of "$driver")" -- --config "$lab/ditto.yaml" \
    </dev/null >>"$lab/dataplane.log" 2>&1 &
  for _ in $(seq $((START_TIMEOUT * 10))); do
    [ -n "$pid" ] || pid=$(cat "$lab/dataplane.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "dataplane exited during start with $driver"
      return 1
    fi
    if [ -S "$lab/dataplane.sock" ] &&
      ip -n $NS_NODE link show ditto0 >/dev/null 2>&1; then
      echo "$driver" >"$lab/driver"
      return 0
    fi
    sleep 0.1
  done
  log "dataplane not up after ${START_TIMEOUT} s with $driver (no ditto0 or no socket)"
  dataplane_stop
  return 1
}

exception_addresses() {
  ip -n $NS_NODE link set ditto0 up
  ip -n $NS_NODE addr add 192.0.2.53/24 dev ditto0
  ip -n $NS_NODE addr add 2001:db8::53/64 dev ditto0 nodad
  vlan_add $NS_NODE ditto0 100 198.51.100.53/24 2001:db8:100::53/64
}

# A DNS response from the client over the service wire, whatever its rcode
# (a node without zones says REFUSED): ARP went through the exception path,
# the query through the fast path.
answers() {
  in_ns $NS_CLIENT dig +time=1 +tries=3 +norecurse @192.0.2.53 . SOA 2>/dev/null |
    grep -q '^;; ->>HEADER<<-'
}

# The apex of the first zone the state directory holds, for the examples.
first_apex() {
  local img
  for img in "$lab/state/dataplane/"*.img; do
    [ -f "$img" ] || continue
    "$build/control/ditto-zone" dump "$img" 2>/dev/null |
      sed -n '1s/^; image of \([^ ]*\) .*/\1/p'
    return 0
  done
  echo example.com.
}

# Options of up and start.
driver=auto
build=$root/build
zones=()
keep_state=0
parse_start_options() {
  while [ $# -gt 0 ]; do
    case $1 in
      --keep-state) keep_state=1; shift ;;
      --driver) driver=${2:?--driver af_xdp|af_packet}; shift 2 ;;
      --driver=*) driver=${1#*=}; shift ;;
      --build) build=${2:?--build DIR}; shift 2 ;;
      --build=*) build=${1#*=}; shift ;;
      --zone) zones+=("$(readlink -f "${2:?--zone ZONEFILE}")"); shift 2 ;;
      --zone=*) zones+=("$(readlink -f "${1#*=}")"); shift ;;
      *) die "unknown option $1 (see the head of $0)" ;;
    esac
  done
  case $driver in
    auto | af_xdp | af_packet) ;;
    *) die "--driver: af_xdp or af_packet, not $driver" ;;
  esac
  [ -d "$build" ] || die "--build: no directory $build"
  build=$(cd "$build" && pwd)
  [ ${#zones[@]} -gt 0 ] || [ $keep_state -eq 1 ] ||
    zones=("$root/tests/zones/example.com.zone")
}

# Start the dataplane (after parse_start_options) on the existing topology.
dataplane_start() {
  bin=$build/dataplane/ditto-dataplane
  local zonec=$build/control/ditto-zone z img drivers d
  [ -x "$bin" ] || die "no $bin: build it first (scripts/setup.sh $(basename "$build"))"
  [ -x "$zonec" ] || die "no $zonec: build it first (scripts/setup.sh $(basename "$build"))"
  topo_require
  dataplane_stop
  mkdir -p "$lab/state/dataplane"
  [ $keep_state -eq 1 ] || rm -f "$lab/state/dataplane/"*.img
  : >"$lab/dataplane.log"
  for z in "${zones[@]}"; do
    [ -f "$z" ] || die "no zone file $z"
    img=$lab/state/dataplane/$(basename "${z%.zone}").img
    "$zonec" compile "$z" -o "$img" >"$lab/compile.log" 2>&1 ||
      { cat "$lab/compile.log" >&2; die "zone $z refused"; }
  done
  hugepages_reserve
  write_config
  dn0_isolate

  if [ "$driver" = auto ]; then drivers="af_xdp af_packet"; else drivers=$driver; fi
  for d in $drivers; do
    if ! dataplane_launch "$d"; then
      dataplane_stop
      dn0_isolate
      continue
    fi
    exception_addresses
    if answers; then
      lab_up_report "$d"
      return 0
    fi
    log "no DNS answer from 192.0.2.53 with $d"
    if [ "$driver" != auto ]; then
      log "the dataplane runs (forced driver $d) but does not answer; the end of $lab/dataplane.log:"
      tail -n 30 "$lab/dataplane.log" >&2
      return 1
    fi
    dataplane_stop
    dn0_isolate
  done
  dn0_release
  log "the dataplane did not come up or did not answer; the end of $lab/dataplane.log:"
  tail -n 30 "$lab/dataplane.log" >&2
  exit 1
}

lab_up_report() {
  local driver=$1 apex pid
  pid=$(dataplane_pid || echo '?')
  apex=$(first_apex)
  cat <<EOF
lab: up in $lab, dataplane pid $pid on dn0 via $driver
  namespaces  $NS_CLIENT $NS_NODE $NS_PRIMARY
  service     $NS_CLIENT dc0 192.0.2.10 2001:db8::10 (dc0.100: 198.51.100.10 2001:db8:100::10)
              <-> $NS_NODE dn0 (DPDK) / ditto0 192.0.2.53 2001:db8::53 (ditto0.100: 198.51.100.53 2001:db8:100::53)
  management  $NS_NODE mn0 10.53.0.2 fd53::2 <-> $NS_PRIMARY mp0 10.53.0.1 fd53::1
  zones       $(cd "$lab/state/dataplane" && echo *.img)
  config      $lab/ditto.yaml   log $lab/dataplane.log   socket $lab/dataplane.sock
query it:
  ip netns exec $NS_CLIENT dig @192.0.2.53 www.${apex%.}
  scripts/lab.sh client kdig @2001:db8::53 ${apex} SOA
  scripts/lab.sh client dig @198.51.100.53 ${apex} NS     (VLAN 100)
stop it: scripts/lab.sh down
EOF
}

cmd_status() {
  local ns pid
  for ns in $NS_CLIENT $NS_NODE $NS_PRIMARY; do
    if ns_exists "$ns"; then
      echo "== $ns"
      ip -n "$ns" -br addr show | grep -v '^lo ' || true
    else
      echo "== $ns: absent"
    fi
  done
  if pid=$(dataplane_pid); then
    echo "== dataplane pid $pid, driver $(cat "$lab/driver" 2>/dev/null || echo '?'), log $lab/dataplane.log"
    if [ -S "$lab/dataplane.sock" ]; then
      dataplane_ask '{"cmd":"status"}' || echo "(no answer on $lab/dataplane.sock)"
    fi
  else
    echo "== dataplane: not running"
  fi
  echo "== hugepages (2 MiB): $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages) free of $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)"
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
  up)
    parse_start_options "$@"
    dataplane_stop
    topo_up
    dataplane_start
    ;;
  start)
    parse_start_options "$@"
    dataplane_start
    ;;
  topo)
    dataplane_stop
    topo_up
    echo "lab: topology up (no dataplane): $NS_CLIENT dc0 192.0.2.10 <-> $NS_NODE dn0 (no addresses); $NS_NODE mn0 10.53.0.2 <-> $NS_PRIMARY mp0 10.53.0.1"
    ;;
  stop) dataplane_stop ;;
  down)
    dataplane_stop
    topo_down
    ;;
  status) cmd_status ;;
  client) exec ip netns exec $NS_CLIENT "$@" ;;
  node) exec ip netns exec $NS_NODE "$@" ;;
  primary) exec ip netns exec $NS_PRIMARY "$@" ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
