#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need first (scripts/setup.sh),
# then runs every crate's tests. Tests that need root skip with a printed reason when not root.
# --with-vm installs the VM testbed (QEMU, virtme-ng, a guest kernel: about 2 minutes and 210 MB
# the first time on a machine, about 1 s after that), so the VM tests run here and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-deps --with-vm
cargo test --workspace --no-fail-fast
