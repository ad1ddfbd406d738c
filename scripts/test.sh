#!/usr/bin/env bash
# Install, build (debug, AddressSanitizer + UBSan) and run every test: unit
# (CUnit), fuzz replays and integration tests against real peers.
# Ends with one line "N passed, M failed" counting every test case.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-test}

scripts/setup.sh "$BUILD" --buildtype=debug -Db_sanitize=address,undefined \
  -Db_lundef=false || { echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
rc=$?

# Each test program prints "<name>: N passed, M failed" for its cases;
# a program that printed none counts as one case by its exit status.
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = 0
line_re = re.compile(r'^(?:[\w.-]+:\s+)?(\d+) passed, (\d+) failed', re.M)
for raw in open(sys.argv[1]):
    t = json.loads(raw)
    counts = line_re.findall(t.get('stdout', '') or '')
    if counts:
        p, f = map(int, counts[-1])
        passed += p
        failed += f
        if t['result'] not in ('OK', 'EXPECTEDFAIL', 'SKIP') and f == 0:
            failed += 1   # crashed or timed out after reporting
    elif t['result'] in ('OK', 'EXPECTEDFAIL'):
        passed += 1
    elif t['result'] != 'SKIP':
        failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $rc
