#!/usr/bin/env bash
# Runs tests again and again under CPU load: LOAD busy loops (default 10) beside them, RUNS times
# each (default 5), and counts the passes. For the tests that once failed on a loaded machine
# (issue 27): scripts/under-load.sh 10 5 "roles pinned_roles_on_separate_cpus" "bench_smoke"
# Each argument after the two numbers is `TEST-TARGET [FILTER]` of the xdplat crate. Needs root
# (the tests make namespaces); the busy loops end with the script, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
load=${1:-10} runs=${2:-5}
shift 2 || true
(($# > 0)) || set -- "roles pinned_roles_on_separate_cpus" "bench_smoke"
for t in "$@"; do
  read -r target _ <<<"$t"
  cargo test -q -p xdplat --test "$target" --no-run >/dev/null
done
hogs=()
trap 'kill "${hogs[@]}" 2>/dev/null || true' EXIT
for ((i = 0; i < load; i++)); do
  bash -c 'while :; do :; done' &
  hogs+=($!)
done
sleep 20 # let the load average climb
status=0
for t in "$@"; do
  read -r target filter <<<"$t"
  pass=0
  for ((r = 0; r < runs; r++)); do
    if cargo test -q -p xdplat --test "$target" -- ${filter:+"$filter"} >/dev/null 2>&1; then
      pass=$((pass + 1))
    fi
  done
  echo "$t: $pass/$runs passed under $load busy loops (load average $(cut -d' ' -f1 /proc/loadavg))"
  ((pass == runs)) || status=1
done
exit "$status"
