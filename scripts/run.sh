#!/usr/bin/env bash
# Run the node on the example zone. For now (before the DPDK lab) this
# compiles the example zone into an image and answers queries from it with
# the same engine the dataplane uses. Extra arguments are questions:
#   scripts/run.sh 'www.example.com. A' 'example.com. MX +dnssec'
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
state=${DITTO_STATE:-$(mktemp -d /tmp/ditto-run.XXXXXX)}
build/control/ditto-zone compile tests/zones/example.com.zone -o "$state/example.com.img"
if [ $# -eq 0 ]; then
  set -- 'www.example.com. A' 'example.com. MX' 'nosuch.example.com. AAAA' \
         'x.wild.example.com. TXT' 'host.sub.example.com. A' 'id.server. TXT +chaos'
fi
/usr/bin/python3 scripts/ask.py build/control/ditto-zone "$state/example.com.img" "$@"
echo ";; image: $state/example.com.img (dump it: build/control/ditto-zone dump $state/example.com.img)"
