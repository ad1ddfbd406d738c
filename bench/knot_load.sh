#!/bin/bash
# Measure Knot DNS (knotd) loading a zone file: wall time and memory.
#
#   bench/knot_load.sh ZONEFILE [ORIGIN] [RECORDS]
#
# knotd starts with a temporary configuration that serves ORIGIN (default
# bench.example.) from a zone file that does not exist yet, so it comes up
# empty; its RSS is the baseline. The file then appears (symlink) and
# `knotc -b zone-reload` loads it (zonefile-load: whole, journal-content:
# none, default semantic checks); the wall time of that blocking reload is
# the load time. RSS after the load minus the baseline is the memory the
# zone holds; VmHWM minus the baseline is the peak. RECORDS defaults to
# ZONEFILE.meta (written by gen_zone.py), else one record a non-$ line.
# knotd is pinned to $KNOT_CPU (default: the last CPU) and always killed.
# Last line: "KNOT key=value ...".
set -euo pipefail

zone=$(readlink -f "${1:?usage: knot_load.sh ZONEFILE [ORIGIN] [RECORDS]}")
origin=${2:-bench.example.}
records=${3:-}
if [[ -z $records && -f $1.meta ]]; then
	records=$(sed -n 's/.*records=\([0-9]*\).*/\1/p' "$1.meta")
fi
if [[ -z $records ]]; then
	records=$(grep -vc '^\$' "$zone")
fi
KNOTD=${KNOTD:-/usr/sbin/knotd}
KNOTC=${KNOTC:-/usr/sbin/knotc}
cpu=${KNOT_CPU:-$(($(nproc) - 1))}

tmp=$(mktemp -d /tmp/ditto-knot.XXXXXX)
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir -p "$tmp/run" "$tmp/db" "$tmp/zones"
port=$((20000 + RANDOM % 20000))
cat >"$tmp/knot.conf" <<EOF
server:
    rundir: $tmp/run
    listen: 127.0.0.1@$port
database:
    storage: $tmp/db
template:
  - id: default
    storage: $tmp/zones
    zonefile-load: whole
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: $origin
    file: $tmp/zones/zone.db
log:
  - target: $tmp/knotd.log
    any: info
EOF

rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
knotc() { "$KNOTC" -s "$tmp/run/knot.sock" -t 600 "$@"; }

taskset -c "$cpu" "$KNOTD" -c "$tmp/knot.conf" >"$tmp/knotd.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
	knotc status >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/knotd.out" >&2; exit 1; }
	sleep 0.05
done
knotc status >/dev/null
sleep 0.2
rss0=$(rss "$pid" VmRSS)

ln -s "$zone" "$tmp/zones/zone.db"
t0=$(now)
knotc -b zone-reload "$origin" >/dev/null
t1=$(now)
status=$(knotc zone-status "$origin" 2>&1)
if ! grep -q 'serial: [0-9]' <<<"$status"; then
	echo "knot_load: zone not loaded: $status" >&2
	tail -5 "$tmp/knotd.log" >&2
	exit 1
fi
serial=$(sed -n 's/.*serial: \([0-9]*\).*/\1/p' <<<"$status")
if command -v kdig >/dev/null; then
	kdig +short +time=2 +retry=1 @127.0.0.1 -p "$port" "$origin" SOA \
		| grep -q " $serial " || { echo "knot_load: no SOA answer" >&2; exit 1; }
fi
sleep 0.2
rss1=$(rss "$pid" VmRSS)
hwm1=$(rss "$pid" VmHWM)
knot_bytes=$(sed -n 's/.*loaded, serial .*, \([0-9]*\) bytes.*/\1/p' \
	"$tmp/knotd.log" | tail -1)

awk -v t0="$t0" -v t1="$t1" -v r0="$rss0" -v r1="$rss1" -v h1="$hwm1" \
    -v n="$records" -v kb="${knot_bytes:-0}" -v z="$zone" -v cpu="$cpu" '
BEGIN {
	s = t1 - t0
	held = (r1 - r0) * 1024; peak = (h1 - r0) * 1024
	printf "knot        %s: %d records loaded by knotd %s in %.3f s, " \
	       "%.0f records/s, %.3f s per million records (cpu %d)\n",
	       z, n, "3.2", s, n / s, s * 1e6 / n, cpu
	printf "knot memory RSS +%.1f MiB after load (%.1f bytes/record), " \
	       "peak +%.1f MiB (%.1f bytes/record); knot'"'"'s own estimate " \
	       "%.1f bytes/record\n",
	       held / 1048576, held / n, peak / 1048576, peak / n, kb / n
	printf "KNOT records=%d load_s=%.4f s_per_Mrec=%.4f rss_B_per_rec=%.2f " \
	       "peak_B_per_rec=%.2f est_B_per_rec=%.2f\n",
	       n, s, s * 1e6 / n, held / n, peak / n, kb / n
}'
