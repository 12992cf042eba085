#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what the tests need first (scripts/setup.sh),
# then runs every crate's tests. Tests that need root skip with a printed reason when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-deps
cargo test --workspace --no-fail-fast
