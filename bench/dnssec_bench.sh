#!/bin/bash
# DNSSEC answering cost: ns/query with DO against without, on signed zones.
#
#   bench/dnssec_bench.sh [NAMES]        default: 100000
#
# Generates the engine benchmark's zone and query mix (gen_zone.py), signs
# the zone with ldns-signzone (ECDSA P-256) three ways, NSEC, NSEC3 with no
# salt and 0 iterations (RFC 9276), NSEC3 with an 8-byte salt and 10
# iterations, and runs engine_bench (release, build-bench/) on the unsigned
# zone and on each signed one, with and without the DO bit. Prints ns/query
# and the DO/no-DO ratio per zone. SECONDS_PER_RUN (default 3), QUERIES
# (default 100000), CPU (default the last), KEEP=1 keeps the work dir.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-bench}
n=${1:-100000}
secs=${SECONDS_PER_RUN:-3}
nqueries=${QUERIES:-100000}
cpu=${CPU:-$(($(nproc) - 1))}
origin=bench.example.

if [[ ! -f $build/build.ninja ]]; then
	meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/engine_bench >/dev/null

work=$(mktemp -d /tmp/ditto-dnssec-bench.XXXXXX)
if [[ ${KEEP:-0} != 1 ]]; then
	trap 'rm -rf "$work"' EXIT
else
	echo "work directory: $work"
fi
cd "$work"
/usr/bin/python3 "$root/bench/gen_zone.py" --names "$n" --zone zone \
	--queries queries --query-count "$nqueries" --origin "$origin"
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$origin")
zsk=$(ldns-keygen -a ECDSAP256SHA256 "$origin")
t0=$(date +%s.%N)
ldns-signzone -o "$origin" -f nsec.zone zone "$ksk" "$zsk"
ldns-signzone -o "$origin" -n -t 0 -f nsec3-0.zone zone "$ksk" "$zsk"
ldns-signzone -o "$origin" -n -t 10 -s 0123456789abcdef -f nsec3-10.zone zone \
	"$ksk" "$zsk"
t1=$(date +%s.%N)
echo "signed three ways in $(echo "$t1 - $t0" | bc) s"

# ns/query of one run, from engine_bench's RESULT line
run() {
	"$build/bench/engine_bench" --zone "$1" --queries queries \
		--origin "$origin" --seconds "$secs" --cpu "$cpu" --quiet "${@:2}" \
		>out 2>&1 || { cat out >&2; echo "engine_bench failed on $1 $*" >&2; exit 1; }
	sed -n 's/^RESULT .*\bns_per_query=\([^ ]*\).*/\1/p' out | tail -1
}

base=$(run zone)
printf '%-10s %12s %12s %8s   (unsigned zone, no DO: %s ns)\n' zone \
	"ns/q no DO" "ns/q DO" "DO/noDO" "$base"
for z in nsec nsec3-0 nsec3-10; do
	plain=$(run $z.zone)
	do=$(run $z.zone --do)
	printf '%-10s %12s %12s %8.2f\n' "$z" "$plain" "$do" \
		"$(echo "$do / $plain" | bc -l)"
done
