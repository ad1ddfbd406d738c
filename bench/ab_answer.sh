#!/bin/bash
# A/B of two versions of the answer path in one process: the timed rounds
# of engine_bench alternate between them (A B B A A B ...), so this
# shared machine's slow spells fall on both alike, and each B round is
# compared with the A round next to it.
#
#   bench/ab_answer.sh [--runs R] [--names N] [--zone Z --queries Q] A B
#
# A and B: a git revision (its dataplane/engine/answer.c) or a file. Only
# answer.c may differ between them: everything else (the headers, the
# image format, the rest of the engine) is the working tree's, built in
# BUILD (default build-bench, a release build; set up here if missing),
# and both versions are compiled with BUILD's own command for answer.c.
# The zone: Z and Q, or one gen_zone.py makes of N names (default 100000)
# in a temporary directory. R runs (default 3) of 100 rounds of 40 ms on
# CPU 1.
#
# Both versions must answer alike: each run first checks every query's
# answer from each (bursts against single answers, B's against A's).
# The last lines: each version's ns/query over its rounds (minimum, 10th
# and 25th percentile, median) and the paired ratio B/A (median and
# quartiles). Two copies of one file measured this way gave median
# ratios of 0.997 and 1.003, the quartiles 3 to 6% either side.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(readlink -f "${BUILD:-$root/build-bench}")
runs=3 names=100000 zone='' queries=''
while [[ $# -gt 2 ]]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--names) names=$2; shift 2 ;;
	--zone) zone=$2; shift 2 ;;
	--queries) queries=$2; shift 2 ;;
	*) echo "ab_answer: unknown option $1" >&2; exit 2 ;;
	esac
done
[[ $# -eq 2 ]] || { sed -n '2,20p' "$0" >&2; exit 2; }
[[ $(nproc) -ge 2 ]] || { echo "ab_answer: needs 2 CPUs" >&2; exit 1; }

work=$(mktemp -d /tmp/ditto-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A version's answer.c, from a file or a revision.
source_of() {
	if [[ -f $1 ]]; then
		cp "$1" "$2"
	else
		git -C "$root" show "$1:dataplane/engine/answer.c" >"$2" ||
			{ echo "ab_answer: no answer.c at '$1'" >&2; exit 1; }
	fi
}
# Revisions must not differ elsewhere in the engine or its headers.
for v in "$1" "$2"; do
	[[ -f $v ]] && continue
	git -C "$root" rev-parse --verify --quiet "$v^{commit}" >/dev/null ||
		{ echo "ab_answer: '$v' is neither a file nor a revision" >&2; exit 1; }
	if ! git -C "$root" diff --quiet "$v" -- include dataplane/engine \
		':!dataplane/engine/answer.c'; then
		echo "ab_answer: $v differs from the working tree outside answer.c" \
			"(headers or engine): not comparable this way" >&2
		exit 1
	fi
done
source_of "$1" "$work/a.c"
source_of "$2" "$work/b.c"

[[ -f $build/build.ninja ]] ||
	meson setup "$build" "$root" --buildtype=release >/dev/null
ninja -C "$build" bench/engine_bench >/dev/null

# The build's own compile commands for answer.c and engine_bench.c
# (compile_commands.json), with the source and output swapped.
compile_like() {	# SOURCE-IN-TREE FILE OBJECT [EXTRA...]
	python3 - "$build/compile_commands.json" "$@" <<'PY'
import json, shlex, subprocess, sys
db, want, src, obj, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
for e in json.load(open(db)):
    if e['file'].endswith(want):
        break
else:
    sys.exit('ab_answer: no compile command for ' + want)
args, out, skip = shlex.split(e['command']), [], False
for a in args:
    if skip:
        skip = False
    elif a in ('-o', '-MF', '-MQ', '-c'):
        skip = a != '-c'
    elif a == '-MD' or a == e['file']:
        pass
    else:
        out.append(a)
subprocess.run(out + extra + ['-c', src, '-o', obj], cwd=e['directory'],
               check=True)
PY
}
# A version's object with its exported symbols renamed ditto_* ->
# ab_<v>_* (those nm lists: whatever answer.c exports, no list kept here).
version_object() {	# a|b
	compile_like engine/answer.c "$work/$1.c" "$work/$1.plain.o"
	local defs=() s
	while read -r s; do
		defs+=(--redefine-sym "$s=ab_$1_${s#ditto_}")
	done < <(nm --defined-only -g "$work/$1.plain.o" | awk '$3 ~ /^ditto_/ { print $3 }')
	objcopy "${defs[@]}" "$work/$1.plain.o" "$work/$1.o"
}
version_object a
version_object b
compile_like bench/engine_bench.c "$root/bench/engine_bench.c" "$work/bench.o" \
	-DDITTO_BENCH_AB
cc -o "$work/ab_bench" "$work/bench.o" "$work/a.o" "$work/b.o" \
	-Wl,--start-group "$build/bench/libbench_queries.a" \
	"$build/control/libditto_compile.a" "$build/dataplane/libditto_engine.a" \
	-lldns -Wl,--end-group

if [[ -z $zone ]]; then
	zone=$work/zone queries=$work/queries
	python3 "$root/bench/gen_zone.py" --names "$names" --zone "$zone" \
		--queries "$queries" --query-count 100000 >/dev/null
fi
# Each run first checks both versions' answers (each burst against its
# own single answers, and B's bursts against A's): a difference stops
# the comparison, which is for versions that answer alike.
for _ in $(seq "$runs"); do
	if ! "$work/ab_bench" --zone "$zone" --queries "$queries" --seconds 4 \
		--rounds 100 --cpu 1 >"$work/run" 2>"$work/run.err"; then
		grep -h -e '^checks' -e '^burst' -e 'DIFFERS' "$work/run" \
			"$work/run.err" >&2 || true
		echo "ab_answer: the versions do not answer as expected" >&2
		exit 1
	fi
	grep '^round ' "$work/run"
done >"$work/rounds"
[[ -s $work/rounds ]] || { echo "ab_answer: no timed rounds" >&2; exit 1; }

python3 - "$work/rounds" "$1" "$2" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
ns = {'A': [], 'B': []}
for r in rows:
    ns[r[2]].append(float(r[-2]))
for v, name in (('A', sys.argv[2]), ('B', sys.argv[3])):
    x = sorted(ns[v]); n = len(x)
    print('%s %-24s rounds %d  min %.1f  p10 %.1f  p25 %.1f  median %.1f ns/query'
          % (v, name[:24], n, x[0], x[n // 10], x[n // 4], st.median(x)))
# Rounds come A B B A A B ...: each pair (1 2, 3 4, ...) holds one of
# each, in either order.
ratio = []
for x, y in zip(rows[0::2], rows[1::2]):
    if {x[2], y[2]} != {'A', 'B'}:
        continue
    a, b = (x, y) if x[2] == 'A' else (y, x)
    ratio.append(float(b[-2]) / float(a[-2]))
ratio.sort()
q = len(ratio) // 4
print('B/A paired: median %.3f, quartiles %.3f .. %.3f (%d pairs)'
      % (st.median(ratio), ratio[q], ratio[-1 - q], len(ratio)))
PY
