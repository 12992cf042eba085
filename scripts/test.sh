#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need first (scripts/setup.sh),
# then runs every crate's tests. A test that cannot run here (not root, a tool missing) says why
# and is recorded (host::test_support::skip); at the end the skips are counted by what they
# lacked, and the command fails when a test skipped for want of something this machine should
# have: root when it runs as root, and every category named in XDPLAT_REQUIRE (comma-separated:
# root, tool, machine, qemu).
# As root it also installs the VM testbed (scripts/setup-vm.sh: QEMU, virtme-ng, a guest kernel:
# about 2 minutes and 210 MB the first time on a machine, about 1 s after that); once that is in
# place the machine can run QEMU, so a VM test skipped for want of it (category qemu) fails the
# run, as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
required=${XDPLAT_REQUIRE:-}
if [[ $(id -u) == 0 ]]; then
  # the kernel matrix (crates/xdplat/tests/vm_kernels.rs): Debian's LTS kernels beside the default
  export XDPLAT_VM_KERNELS=${XDPLAT_VM_KERNELS-"5.10 6.1 6.12"}
  scripts/setup.sh --with-test-deps --with-vm
  required="root,qemu,$required"
else
  scripts/setup.sh --with-test-deps
  echo "scripts/test.sh: not root: the VM testbed is not installed, its tests will skip" >&2
fi
# numpy, pyarrow and scikit-learn in target/bench-venv, for the tests that check other tools read
# our files and agree with our clustering; without PyPI those tests skip (category tool) and say so
timeout 300 scripts/bench-setup.sh ||
  echo "scripts/test.sh: no Python test environment (PyPI unreachable or slow): the Python comparisons will skip" >&2
skips=$(mktemp "${TMPDIR:-/tmp}/xdplat-skips.XXXXXX")
trap 'rm -f "$skips"' EXIT
export XDPLAT_SKIP_LOG=$skips
status=0
cargo test --workspace --no-fail-fast || status=$?
# the XDP program's fallback stamp (the head of the frame, for kernels that refuse
# bpf_xdp_adjust_meta and drivers that fail it) forced, so that every machine runs it: the XDP
# crate's tests, the queue tests and the stage breakdown again
XDPLAT_XDP_STAMP=head cargo test --no-fail-fast -p xdp -p xdplat-probe -p xdplat --test attach \
  --test redirect --test stamps --test queues --test stages || status=$?

echo "skipped tests: $(wc -l <"$skips")"
if [[ -s $skips ]]; then
  # CATEGORY<TAB>WHAT<TAB>TEST per line
  sort "$skips" | awk -F'\t' '{ n[$1]++; w[$1] = w[$1] " " $3 " (" $2 ")" }
    END { for (c in n) printf "  %s: %d:%s\n", c, n[c], w[c] }'
fi
IFS=, read -ra categories <<<"$required"
for c in "${categories[@]}"; do
  [[ -n $c ]] || continue
  n=$(awk -F'\t' -v c="$c" '$1 == c' "$skips" | wc -l)
  if ((n > 0)); then
    echo "error: $n test(s) skipped for want of $c, which this machine should have" >&2
    status=1
  fi
done
exit "$status"
