#!/bin/bash
# The lab benchmark: ditto against Knot DNS in XDP mode, Knot DNS on kernel
# sockets and NSD, one after another in the same run, on the lab's veth.
#
#   bench/lab_bench.sh
#
# scripts/lab.sh builds the wires; gen_zone.py writes the zone and the query
# mix (the same for every server). Each server runs in the node namespace
# pinned to CPU 1: ditto-dataplane owns dn0 through DPDK (lab.sh up, its
# worker lcore is 1); the peers get 192.0.2.53 on dn0 itself once the
# dataplane is stopped, Knot with `xdp: listen: dn0` for XDP mode. The load
# comes from the client namespace on CPU 0: kxdpgun (XDP on dc0, target MAC
# given) over a sweep of offered rates, then dnsperf (kernel sockets) at the
# most it can send. Every server is asked the zone's SOA before it is
# measured and warmed up for a second.
#
# Environment: NAMES (zone size, default 100000), QUERIES (query list,
# 100000), RATES (kxdpgun's offered rates, default "50000 100000 150000
# 200000 250000 300000 350000 450000 600000 2000000", the last more than
# it can send; the steps of 50k around ditto's clean rate, so that it is
# not read a whole step low),
# SECONDS_PER_RUN (3), BATCH (kxdpgun's batch; default 10 up to 450k/s and
# 32 above), DNSPERF_SECONDS (5), SERVERS ("ditto knot-xdp knot-kernel
# nsd"), BUILD (a release build directory, set up and brought up to date
# here; default build-bench), DRIVER (af_xdp or af_packet; default
# lab.sh's choice), KEEP=1 keeps the work directory. About 3 minutes with
# the defaults.
#
# The last lines are a table (server, load generator, offered and answered
# queries/s, % unanswered and how much of it the node dropped, rcode mix)
# and the ratios ditto/Knot-XDP and ditto/Knot-kernel: peak to peak, and
# what ditto answers with <= 0.1% unanswered to the peer's peak (the
# issue's targets: 1.5x Knot XDP, 3x Knot on kernel sockets).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(readlink -f "${BUILD:-$root/build-bench}")
names=${NAMES:-100000}
nqueries=${QUERIES:-100000}
read -r -a rates <<<"${RATES:-50000 100000 150000 200000 250000 300000 350000 450000 600000 2000000}"
secs=${SECONDS_PER_RUN:-3}
dnsperf_secs=${DNSPERF_SECONDS:-5}
read -r -a servers <<<"${SERVERS:-ditto knot-xdp knot-kernel nsd}"
SERVER_CPU=1
LOAD_CPU=0
NS_CLIENT=ditto-client
NS_NODE=ditto-node
TARGET=192.0.2.53

[[ $(id -u) -eq 0 ]] || { echo "lab_bench: must run as root" >&2; exit 1; }
PATH=$PATH:/usr/sbin
for tool in kxdpgun dnsperf kdig knotd nsd taskset; do
	command -v "$tool" >/dev/null ||
		{ echo "lab_bench: $tool missing: run scripts/setup.sh" >&2; exit 1; }
done
[[ $(nproc) -ge 2 ]] || { echo "lab_bench: needs 2 CPUs" >&2; exit 1; }

work=$(mktemp -d /tmp/ditto-labbench.XXXXXX)
export LAB_DIR=$work/lab
lab() { "$root/scripts/lab.sh" "$@"; }
in_client() { ip netns exec "$NS_CLIENT" "$@"; }
in_node() { ip netns exec "$NS_NODE" "$@"; }
say() { echo "lab_bench: $*" >&2; }

# Servers we started, by process group (setsid makes the pid the group).
server_pid=
server_stop() {
	local i
	[[ -n $server_pid ]] || return 0
	kill -TERM "$server_pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	# Knot leaves its XDP program on the interface when it exits.
	ip -n "$NS_NODE" link set dn0 xdp off 2>/dev/null || true
}
cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP PIPE	# finish cleaning up whatever happens
	server_stop
	lab down >/dev/null 2>&1 || true
	if [[ ${KEEP:-0} == 1 ]]; then
		say "work directory kept: $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# knotd or nsd that apt started or someone else runs: not ours, left alone,
# but they share the CPUs, so say so.
foreign=$(pgrep -x 'knotd|nsd' | tr '\n' ' ' || true)
[[ -z $foreign ]] ||
	say "note: knotd/nsd processes not started by this bench are running (pids $foreign); left alone"
ns_busy=$(ip netns list | grep -Ew "$NS_CLIENT|$NS_NODE" || true)
[[ -z $ns_busy ]] || say "note: a lab is up; this bench replaces it and takes it down at the end"

# --- zone and queries -------------------------------------------------------

zone=$work/bench.example.zone
/usr/bin/python3 "$root/bench/gen_zone.py" --names "$names" --zone "$zone" \
	--queries "$work/queries" --query-count "$nqueries"
origin=bench.example.
# gen_zone writes "name type expect"; kxdpgun wants "name type [flags]"
# (E: EDNS), dnsperf "name type" (-e: EDNS).
awk '{ print $1, $2, "E" }' "$work/queries" >"$work/kxdpgun.queries"
awk '{ print $1, $2 }' "$work/queries" >"$work/dnsperf.queries"

# --- measuring --------------------------------------------------------------

results=$work/results	# server loadgen offered answered unanswered_pct noerror nxdomain other node_dropped_pct
: >"$results"

# Queries dropped on the node before the server read them: the veth ring
# into dn0 full (dc0's tx_dropped), the server's AF_XDP ring full (dn0's
# rx_dropped: the XDP redirect failed; ditto and Knot XDP) or its socket
# buffer full (UDP receive buffer errors; Knot on kernel sockets and NSD).
node_drops() {
	local n=0 v
	v=$(in_client cat /sys/class/net/dc0/statistics/tx_dropped) && n=$((n + v))
	v=$(in_node cat /sys/class/net/dn0/statistics/rx_dropped) && n=$((n + v))
	v=$(in_node awk '/^Udp6?RcvbufErrors/ { n += $2 }
		/^Udp:/ { getline; n += $6 } END { print n + 0 }' \
		/proc/net/snmp /proc/net/snmp6) && n=$((n + v))
	echo "$n"
}

# kxdpgun from the client namespace, on CPU 0, at RATE for SECS seconds.
# Queries go in batches of 10 (its default) up to 450k/s; above, 32, without
# which one core of this machine sends no more than about 470k/s (32: 620k/s).
run_kxdpgun() {
	local server=$1 rate=$2 t=$3 out=$work/kxdpgun-$1-$2.out mac w0 batch
	batch=${BATCH:-$((rate > 450000 ? 32 : 10))}
	mac=$(in_node cat /sys/class/net/dn0/address)
	w0=$(node_drops)
	timeout $((t + 20)) ip netns exec "$NS_CLIENT" kxdpgun -t "$t" -Q "$rate" \
		-b "$batch" -F "$LOAD_CPU" -I dc0 -R "$mac" -i "$work/kxdpgun.queries" "$TARGET" \
		>"$out" 2>&1 || { say "kxdpgun failed against $server:"; tail -5 "$out" >&2; return 0; }
	awk -v s="$server" -v w="$(($(node_drops) - w0))" '
		/^total queries:/ { q = $3; sub(/\(/, "", $4); qps = $4 }
		/^total replies:/ { r = $3; sub(/\(/, "", $4); rps = $4 }
		/^duration:/ { d = $2 }
		/^responded NOERROR:/ { ok = $3 }
		/^responded NXDOMAIN:/ { nx = $3 }
		/^responded / { all += $3 }
		END {
			if (q == "") exit
			printf "%s kxdpgun %d %d %.3f %d %d %d %.3f\n", s, qps, rps,
			       q ? 100 * (q - r) / q : 0, ok, nx, all - ok - nx,
			       q ? 100 * w / q : 0
		}' "$out" >>"$results"
}

# dnsperf from the client namespace, on CPU 0, as fast as it can (one
# socket, 500 queries outstanding, 4 MiB socket buffers: with the default
# buffer the first burst of answers overflows it and counts as lost).
run_dnsperf() {
	local server=$1 out=$work/dnsperf-$1.out w0
	w0=$(node_drops)
	timeout $((dnsperf_secs + 20)) ip netns exec "$NS_CLIENT" taskset -c "$LOAD_CPU" \
		dnsperf -s "$TARGET" -d "$work/dnsperf.queries" -l "$dnsperf_secs" \
		-Q 10000000 -q 500 -b 4096 -c 1 -T 1 -e \
		>"$out" 2>&1 || { say "dnsperf failed against $server:"; tail -5 "$out" >&2; return 0; }
	awk -v s="$server" -v w="$(($(node_drops) - w0))" '
		/Queries sent:/ { q = $3 }
		/Queries completed:/ { r = $3 }
		/Run time \(s\):/ { t = $4 }
		/Queries per second:/ { rps = $4 }
		/Response codes:/ {
			for (i = 3; i <= NF; i += 3) {
				n = $(i + 1)
				if ($i == "NOERROR") ok = n
				else if ($i == "NXDOMAIN") nx = n
				else other += n
			}
		}
		END {
			if (q == "") exit
			printf "%s dnsperf %d %d %.3f %d %d %d %.3f\n", s, q / t, rps,
			       q ? 100 * (q - r) / q : 0, ok, nx, other,
			       q ? 100 * w / q : 0
		}' "$out" >>"$results"
}

# Wait until the server answers the SOA, then warm it for a second.
ready() {
	local server=$1 i
	for i in $(seq 60); do
		if in_client kdig +time=1 +retry=0 +norec @"$TARGET" "$origin" SOA 2>/dev/null |
			grep -q 'status: NOERROR'; then
			timeout 20 ip netns exec "$NS_CLIENT" kxdpgun -t 1 -Q 20000 -F "$LOAD_CPU" \
				-I dc0 -R "$(in_node cat /sys/class/net/dn0/address)" \
				-i "$work/kxdpgun.queries" "$TARGET" >/dev/null 2>&1 || true
			return 0
		fi
		[[ -z $server_pid ]] || kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.5
	done
	say "$server does not answer $origin SOA at $TARGET; skipped"
	return 1
}

# The sweep, then dnsperf. Once two rates in a row leave more than 10%
# unanswered the server is saturated: the rates between are skipped and only
# the last (the most the load generator can send) is measured.
measure() {
	local server=$1 rate i saturated=0 last=$((${#rates[@]} - 1))
	ready "$server" || return 0
	say "measuring $server: kxdpgun up to ${rates[$last]} q/s (${secs} s a rate), dnsperf (${dnsperf_secs} s)"
	for i in "${!rates[@]}"; do
		rate=${rates[$i]}
		[[ $saturated -lt 2 || $i -eq $last ]] || continue
		run_kxdpgun "$server" "$rate" "$secs"
		if tail -1 "$results" | awk -v s="$server" '$1 == s && $2 == "kxdpgun" && $5 > 10 { f = 1 } END { exit !f }'; then
			saturated=$((saturated + 1))
		else
			saturated=0
		fi
	done
	run_dnsperf "$server"
}

# --- the servers ------------------------------------------------------------

# Peers: 192.0.2.53 on dn0 in the node namespace, started in their own
# process group on CPU 1, configuration and state in the work directory.
peer_start() {
	local name=$1
	shift
	setsid ip netns exec "$NS_NODE" taskset -c "$SERVER_CPU" "$@" \
		</dev/null >"$work/$name.out" 2>&1 &
	server_pid=$!
}

knot_conf() {
	local mode=$1 dir=$work/knot-$1
	mkdir -p "$dir"
	cat >"$dir/knot.conf" <<EOF
server:
    rundir: $dir
    listen: $TARGET@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
EOF
	if [[ $mode == xdp ]]; then
		cat >>"$dir/knot.conf" <<EOF
xdp:
    listen: dn0@53
    udp: on
    tcp: off
EOF
	fi
	cat >>"$dir/knot.conf" <<EOF
database:
    storage: $dir
template:
  - id: default
    zonefile-load: whole
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: $origin
    file: $zone
log:
  - target: $dir/knotd.log
    any: info
EOF
	echo "$dir/knot.conf"
}

nsd_conf() {
	local dir=$work/nsd
	mkdir -p "$dir"
	# Debian's NSD limits responses per client (RRL, 200/s by default), which
	# a benchmark from one address trips at once: off.
	cat >"$dir/nsd.conf" <<EOF
server:
    ip-address: $TARGET
    port: 53
    do-ip6: no
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "$work"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $origin
    zonefile: $zone
EOF
	echo "$dir/nsd.conf"
}

# What the dataplane itself counted over all the runs: packets in and out,
# answers, drops by reason (where the unanswered queries were lost).
ditto_counters() {
	/usr/bin/python3 - "$LAB_DIR/dataplane.sock" <<'PY' >&2 || true
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"stats"}\n')
t = json.loads(s.makefile().readline()).get("total", {})
drops = {k: v for k, v in t.get("drops", {}).items() if v}
print("lab_bench: ditto's own counters: rx %s, tx %s, answers %s, drops %s"
      % (t.get("rx"), t.get("tx"), t.get("answers"), drops or "none"))
PY
}

ditto_ran=0
bench_ditto() {
	local args=(--build "$build" --zone "$zone")
	[[ -z ${DRIVER:-} ]] || args+=(--driver "$DRIVER")
	# A release build, as bench/run.sh makes (scripts/setup.sh's build/ is a
	# debug one with sanitizers).
	if [[ ! -f $build/build.ninja ]]; then
		meson setup "$build" "$root" --buildtype=release >"$work/meson.out" 2>&1 ||
			{ say "ditto skipped: meson setup $build failed:"; tail -5 "$work/meson.out" >&2; return 0; }
	fi
	if ! ninja -C "$build" dataplane/ditto-dataplane control/ditto-zone >"$work/ninja.out" 2>&1; then
		say "ditto skipped: ditto-dataplane does not build in $build:"
		tail -5 "$work/ninja.out" >&2
		return 0
	fi
	if ! lab up "${args[@]}" >"$work/lab-up.out" 2>&1; then
		say "ditto skipped: scripts/lab.sh up failed:"
		tail -15 "$work/lab-up.out" >&2
		lab stop >/dev/null 2>&1 || true
		return 0
	fi
	peers_ready=0	# lab up made the wires anew
	say "ditto: dataplane on dn0 via $(cat "$LAB_DIR/driver"), worker lcore $SERVER_CPU"
	measure ditto
	ditto_ran=1
	ditto_counters
	cp "$LAB_DIR/dataplane.log" "$work/ditto.out" 2>/dev/null || true
	lab stop
}

peers_ready=0
peers_wire() {
	[[ $peers_ready == 1 ]] && return 0
	ip -n "$NS_NODE" link show dn0 >/dev/null 2>&1 || lab topo >/dev/null
	ip -n "$NS_NODE" addr replace "$TARGET/24" dev dn0
	peers_ready=1
}

bench_peer() {
	local server=$1 conf
	peers_wire
	case $server in
		knot-xdp) conf=$(knot_conf xdp); peer_start "$server" knotd -c "$conf" ;;
		knot-kernel) conf=$(knot_conf kernel); peer_start "$server" knotd -c "$conf" ;;
		nsd) conf=$(nsd_conf); peer_start "$server" nsd -d -c "$conf" ;;
	esac
	measure "$server"
	server_stop
}

say "zone $origin: $(cat "$zone.meta"); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${servers[@]}"; do
	case $s in
		ditto) bench_ditto ;;
		knot-xdp | knot-kernel | nsd) bench_peer "$s" ;;
		*) say "unknown server $s (ditto knot-xdp knot-kernel nsd)" ;;
	esac
done

# --- the table --------------------------------------------------------------

echo
echo "lab benchmark: $(cut -d' ' -f1-3 "$zone.meta"), $(wc -l <"$work/queries") queries" \
	"(60% hits, 15% NXDOMAIN, 10% wildcard, 10% CNAME, 5% referrals, EDNS);" \
	"servers on CPU $SERVER_CPU, load on CPU $LOAD_CPU (kxdpgun ${secs} s a rate," \
	"batch ${BATCH:-10, 32 above 450k/s}; dnsperf ${dnsperf_secs} s); $(date '+%F %T')," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v ditto_ran="$ditto_ran" '
function pct(a, b) { return b ? 100 * a / b : 0 }
{
	s = $1; g = $2; off = $3; ans = $4; lost = $5
	rows[++n] = sprintf("%-12s %-8s %11d %11d %9.2f%% %9.2f%%   %5.1f/%4.1f/%4.1f",
	                    s, g, off, ans, lost, $9, pct($6, $6 + $7 + $8),
	                    pct($7, $6 + $7 + $8), pct($8, $6 + $7 + $8))
	if (ans > peak[s, g]) peak[s, g] = ans
	if (lost <= 0.1 && ans > clean[s, g]) clean[s, g] = ans
	if (lost > maxlost[s, g]) maxlost[s, g] = lost
	seen[g] = 1
}
END {
	printf "%-12s %-8s %11s %11s %10s %10s   %s\n", "server", "load", "offered/s",
	       "answered/s", "unanswered", "(at node)", "NOERROR/NXDOMAIN/other %"
	for (i = 1; i <= n; i++) print rows[i]
	print ""
	printf "%-8s %-12s %11s %11s\n", "load", "server", "peak/s", "clean/s"
	split("ditto knot-xdp knot-kernel nsd", order, " ")
	split("kxdpgun dnsperf", loads, " ")
	for (j = 1; j <= 2; j++) {
		g = loads[j]
		for (k = 1; k <= 4; k++)
			if ((order[k], g) in peak)
				printf "%-8s %-12s %11d %11s\n", g, order[k],
				       peak[order[k], g], clean[order[k], g] ? clean[order[k], g] : "-"
	}
	print "(peak: most answered over the offered rates; clean: most answered" \
	      " with <= 0.1% unanswered)"
	print "(at node: queries the node dropped before the server read them:" \
	      " AF_XDP ring or socket buffer full, not counting af_packet'"'"'s ring;" \
	      " the rest of the unanswered were lost on the load generator'"'"'s side)"
	print ""
	if (!ditto_ran) { print "ratios: ditto not measured"; exit }
	# The targets compare what ditto answers with <= 0.1% unanswered with the
	# most the peer answers at all.
	target["knot-xdp"] = 1.5; target["knot-kernel"] = 3
	for (j = 1; j <= 2; j++) {
		if (!((g = loads[j]) in seen)) continue
		for (k = 2; k <= 3; k++) {
			p = order[k]
			if (!peak[p, g]) continue
			r = clean["ditto", g] / peak[p, g]
			# A peer that answered nearly all it was sent was not saturated:
			# the load generator was, and the ratio measures it.
			verdict = r >= target[p] ? "met" : "NOT met"
			if (maxlost[p, g] < 1)
				verdict = "not measured: " g " saturates before " p
			printf "%-8s ditto/%-11s peak %5.2fx   ditto clean/%s peak %5.2fx" \
			       " (target %.1fx: %s)\n", g, p, peak["ditto", g] / peak[p, g],
			       p, r, target[p], verdict
		}
	}
}' "$results"
