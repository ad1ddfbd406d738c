#!/bin/bash
# The engine benchmark, with Knot DNS measured in the same run.
#
#   bench/run.sh [NAMES...]          default: 100000 1000000
#
# Builds engine_bench (release, in build-bench/ unless BUILD is set),
# generates each zone with gen_zone.py, runs engine_bench on it (compile,
# image size, ns/query on one pinned core) and knot_load.sh on the same
# file, then prints a table. Environment: SECONDS_PER_RUN (answering time
# per zone, default 3), QUERIES (query list length, default 100000),
# CPU (core to pin both to, default the last), KEEP=1 keeps the work dir.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-bench}
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(100000 1000000)
secs=${SECONDS_PER_RUN:-3}
nqueries=${QUERIES:-100000}
cpu=${CPU:-$(($(nproc) - 1))}

if [[ ! -f $build/build.ninja ]]; then
	meson setup "$build" "$root" --buildtype=release >/dev/null
fi
ninja -C "$build" bench/engine_bench >/dev/null

work=$(mktemp -d /tmp/ditto-bench.XXXXXX)
if [[ ${KEEP:-0} != 1 ]]; then
	trap 'rm -rf "$work"' EXIT
else
	echo "work directory: $work"
fi

# key=value from the last line of file starting with tag
kv() { sed -n "s/^$2 .*\b$3=\([^ ]*\).*/\1/p" "$1" | tail -1; }

rows=()
status=0
for n in "${sizes[@]}"; do
	z=$work/zone-$n.zone
	q=$work/zone-$n.queries
	echo "== $n names"
	/usr/bin/python3 "$root/bench/gen_zone.py" --names "$n" --zone "$z" \
		--queries "$q" --query-count "$nqueries"
	/usr/bin/python3 "$root/bench/gen_zone.py" --names "$n" --zone "$z.zipf" \
		--queries "$q.zipf" --query-count "$nqueries" --popularity zipf 2>/dev/null
	rm -f "$z.zipf" "$z.zipf.meta"	# the same zone, same seed
	rc=0
	"$build/bench/engine_bench" --zone "$z" --queries "$q" \
		--seconds "$secs" --cpu "$cpu" | tee "$work/ditto-$n.out" || rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "engine_bench exited $rc (3 = wrong answers)" >&2
		status=1
		grep -q '^RESULT ' "$work/ditto-$n.out" || continue
	fi
	# The same zone, queries drawn by popularity (Zipf) instead of uniformly.
	"$build/bench/engine_bench" --zone "$z" --queries "$q.zipf" \
		--seconds "$secs" --cpu "$cpu" --quiet >"$work/ditto-$n.zipf" || status=1
	KNOT_CPU=$cpu "$root/bench/knot_load.sh" "$z" | tee "$work/knot-$n.out"
	d=$work/ditto-$n.out
	k=$work/knot-$n.out
	rows+=("$(awk -v n="$n" \
		-v rec="$(kv "$d" RESULT records)" \
		-v nsq="$(kv "$d" RESULT ns_per_query)" \
		-v nsz="$(kv "$work/ditto-$n.zipf" RESULT ns_per_query)" \
		-v mq="$(kv "$d" RESULT mqps)" \
		-v wrong="$(kv "$d" RESULT wrong)" \
		-v dc="$(kv "$d" RESULT s_per_Mrec)" \
		-v kc="$(kv "$k" KNOT s_per_Mrec)" \
		-v di="$(kv "$d" RESULT image_B_per_rec)" \
		-v dp="$(kv "$d" RESULT peak_B_per_rec)" \
		-v kr="$(kv "$k" KNOT rss_B_per_rec)" \
		-v kp="$(kv "$k" KNOT peak_B_per_rec)" '
		BEGIN {
			printf "%8d %8d | %6.1f %6.2f %5d %6.1f | %7.3f %7.3f %6.2f | " \
			       "%7.1f %7.1f %6.2f | %7.1f %7.1f %6.2f\n",
			       n, rec, nsq, mq, wrong, nsz, dc, kc, dc / kc,
			       di, kr, di / kr, dp, kp, dp / kp
		}')")
done

cat <<EOF

ditto engine benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), pinned to cpu $cpu)
answering: one core, EDNS 1232 queries, mix 60% A/AAAA/MX/TXT hits, 15% NXDOMAIN,
10% wildcard, 10% CNAME, 5% referral, in bursts of 32 as a dataplane worker;
names drawn uniformly (ns/qry) or by Zipf popularity (zipf). Ratios are ditto / Knot DNS 3.2 (lower is
better for ditto). Held: ditto image size (what the dataplane keeps) vs knotd
RSS growth after load. Peak: ditto compiler peak RSS growth vs knotd VmHWM growth.

                  |         answering          |  load s/M records      |  held bytes/record     |  peak bytes/record
   names  records | ns/qry Mqps/c wrong   zipf |   ditto    knot  ratio |   ditto    knot  ratio |   ditto    knot  ratio
EOF
printf '%s\n' "${rows[@]}"
first=${rows[0]:-}
if [[ -n $first ]]; then
	awk -v n="${sizes[0]}" '{ printf "\ntarget 100 ns/query on the %s-name zone: %.1f ns/query uniform (%s), %.1f zipf (%s)\n", n, $4, ($4 <= 100 ? "met" : "NOT met"), $7, ($7 <= 100 ? "met" : "NOT met") }' <<<"$first"
fi
exit $status
