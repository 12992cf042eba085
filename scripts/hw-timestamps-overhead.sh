#!/bin/bash
# The RTT with device timestamps off and on (--hw-timestamps false/true on both roles),
# alternated round by round on a testbed of its own, poll() roles, 2000 probes at 500 µs each.
# Usage: scripts/hw-timestamps-overhead.sh [ROUNDS]  (after cargo build --release -p xdplat)
set -eu
X=$(dirname "$0")/../target/release/xdplat
out=$(mktemp -d -t hwovh.XXXXXX)
trap '$X testbed down --name hwo >/dev/null 2>&1 || true' EXIT
$X testbed up --name hwo >/dev/null
for r in $(seq 1 "${1:-4}"); do
  for hw in false true; do
    $X fwd --netns hwo-b --iface hwo-ba --poll true --hw-timestamps $hw --duration 6s >/dev/null 2>&1 &
    sleep 0.5
    rm -rf $out/$r-$hw
    $X ping --netns hwo-a --iface hwo-ab --dst-ip 10.77.1.2 --poll true --hw-timestamps $hw --count 2000 --interval 500us --warmup 50 --quiet --out $out/$r-$hw >/dev/null 2>&1
    wait
    python3 -c "import json;s=json.load(open('$out/$r-$hw/summary.json'));r=s['rtt_ns'];print('round $r hw=$hw median %.1f us p99 %.1f us min %.1f' % (r['median']/1e3, r['p99']/1e3, r['min']/1e3))"
  done
done
echo "runs in $out (compare a pair with: $X compare $out/1-false $out/1-true)"
