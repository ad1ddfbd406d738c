#!/usr/bin/env bash
# Round trip: every example zone compiled, dumped back to zone text,
# compiled again and dumped again must give the same text, and the dump
# must hold the same records as the source (compared with ldns-read-zone's
# canonical form, less what the compiler reports it left out).
set -uo pipefail
ditto_zone=$1
zones=${2:-$(dirname "$0")/../zones}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

canon() {  # canonical, sorted records of a zone file, without comments
  ldns-read-zone -c -z "$1" 2>/dev/null | grep -v '^;' | sort
}

for z in "$zones"/*.zone; do
  name=$(basename "$z" .zone)
  if ! "$ditto_zone" compile "$z" -o "$tmp/$name.1.img" >"$tmp/$name.log" 2>&1; then
    echo "FAIL $name: does not compile"; cat "$tmp/$name.log"; fail=$((fail + 1)); continue
  fi
  "$ditto_zone" dump "$tmp/$name.1.img" >"$tmp/$name.1.txt" &&
  "$ditto_zone" compile "$tmp/$name.1.txt" -o "$tmp/$name.2.img" >/dev/null 2>&1 &&
  "$ditto_zone" dump "$tmp/$name.2.img" >"$tmp/$name.2.txt"
  if ! cmp -s "$tmp/$name.1.txt" "$tmp/$name.2.txt"; then
    echo "FAIL $name: the dump of the recompiled dump differs"
    diff "$tmp/$name.1.txt" "$tmp/$name.2.txt" | head -20
    fail=$((fail + 1)); continue
  fi
  pass=$((pass + 1))
  # Same records as the source, except those reported as left out.
  left_out=$(grep -c 'left out' "$tmp/$name.log")
  (cd "$(dirname "$z")" && canon "$(basename "$z")") >"$tmp/$name.src" 2>/dev/null
  canon "$tmp/$name.1.txt" >"$tmp/$name.dump"
  missing=$(comm -23 "$tmp/$name.src" "$tmp/$name.dump" | wc -l)
  extra=$(comm -13 "$tmp/$name.src" "$tmp/$name.dump" | wc -l)
  if [ ! -s "$tmp/$name.src" ]; then
    echo "SKIP $name: ldns-read-zone cannot read the source (\$INCLUDE), records not compared"
  elif [ "$missing" -ne "$left_out" ] || [ "$extra" -ne 0 ]; then
    echo "FAIL $name: $missing source records missing from the dump ($left_out reported left out), $extra extra"
    comm -3 "$tmp/$name.src" "$tmp/$name.dump" | head -20
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done
echo "roundtrip: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
