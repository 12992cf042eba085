#!/usr/bin/env bash
# The long fuzz run: every target of fuzz/ under cargo-fuzz (libFuzzer, nightly) for SECONDS each
# (default 300), or for N executions each with `--runs N` (issue 16's bar: --runs 10000000), starting from the seed corpus that the smoke test generates, plus fuzz/seeds and
# fuzz/regressions. A crash leaves its input in fuzz/artifacts/TARGET/: copy it into
# fuzz/regressions/TARGET/ so that `cargo test -p xdplat --test fuzz_smoke` replays it forever.
# The short CI run is that smoke test (XDPLAT_FUZZ_SECS seconds per target, default 1).
# Usage: scripts/fuzz.sh [--sanitizer none|address] [SECONDS | --runs N] [TARGET...]
#   --sanitizer none: about 2.3x the executions per second of the default AddressSanitizer build
#   (panics, aborts, timeouts and the RSS limit still count; the malloc limit needs a sanitizer)
#   (needs: rustup nightly, cargo install cargo-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer=address
if [[ ${1:-} == --sanitizer ]]; then
  [[ ${2:-} == none || ${2:-} == address ]] || { echo "scripts/fuzz.sh: --sanitizer takes none or address" >&2; exit 2; }
  sanitizer=$2
  shift 2
fi
case ${1:-} in
  --runs)
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "scripts/fuzz.sh: --runs needs a positive number" >&2; exit 2; }
    limit=(-runs="$2") what="$2 executions"
    shift 2
    ;;
  '') limit=(-max_total_time=300) what=300s ;;
  *)
    [[ $1 =~ ^[1-9][0-9]*$ ]] || { echo "scripts/fuzz.sh: SECONDS must be a positive number, or use --runs N" >&2; exit 2; }
    limit=(-max_total_time="$1") what="$1s"
    shift
    ;;
esac
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(probe_packet emit_roundtrip experiment table_csv table_parquet)
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "scripts/fuzz.sh: needs a nightly toolchain and cargo-fuzz (rustup toolchain install nightly; cargo install cargo-fuzz)" >&2
  exit 2
fi
# seed corpus: generated probes, tables and experiments, plus fuzz/seeds and fuzz/regressions;
# made once: later runs go on from the corpus the earlier ones grew (remove fuzz/corpus to start
# again)
if [[ ! -d fuzz/corpus ]]; then
  XDPLAT_FUZZ_SECS=0 XDPLAT_FUZZ_SEEDS_OUT="$PWD/fuzz/corpus" \
    cargo test -q -p xdplat --test fuzz_smoke >/dev/null
fi
cd fuzz
# the table targets write each input to a file: on tmpfs that costs a fraction of a disk file
if [[ -z ${TMPDIR:-} && -w /dev/shm ]]; then
  export TMPDIR=/dev/shm
fi
status=0
for t in "${targets[@]}"; do
  echo "== $t: $what, sanitizer $sanitizer"
  started=$SECONDS
  # -rss_limit_mb: the analysis targets hold whole tables (a single allocation above it is a
  # finding too: libFuzzer's -malloc_limit_mb defaults to the RSS limit); -timeout: a hang is a
  # finding too
  if ! cargo +nightly fuzz run -O -s "$sanitizer" "$t" "corpus/$t" -- \
      "${limit[@]}" -rss_limit_mb=4096 -timeout=10 \
      -print_final_stats=1 2>&1 \
      | tee "corpus/$t.log" | grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY|artifact_prefix|Test unit written)"; then
    :
  fi
  echo "$t: $((SECONDS - started)) s"
  if compgen -G "artifacts/$t/crash-*" >/dev/null || compgen -G "artifacts/$t/timeout-*" >/dev/null \
      || compgen -G "artifacts/$t/oom-*" >/dev/null; then
    echo "$t: findings in fuzz/artifacts/$t/" >&2
    status=1
  fi
done
exit $status
