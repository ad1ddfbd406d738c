#!/bin/sh
# engine_bench's two checked passes on a zone from gen_zone.py (hits of
# each type, NXDOMAIN, wildcards, CNAMEs, delegations with glue): every
# answer what the generator expects, and every response of a burst of 32
# byte for byte what ditto_answer() gives alone. It exits 3 otherwise.
set -eu
bench=$1
gen=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$gen" --names 3000 --zone "$dir/zone" --queries "$dir/queries" \
	--query-count 20000
"$bench" --zone "$dir/zone" --queries "$dir/queries" --seconds 0.05 \
	--rounds 1 --quiet
