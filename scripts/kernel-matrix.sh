#!/usr/bin/env bash
# Writes the README's kernel matrix: boots every distribution kernel of the VM cache (fetching
# 5.10, 6.1 and 6.12 from Debian first, besides the default 7.x) under the VM testbed, runs the
# matrix test in each (crates/xdplat/tests/vm_kernels.rs), and replaces the table between the
# README's kernel-matrix markers with what the kernels gave. As root; about 3 minutes under TCG.
# Usage: scripts/kernel-matrix.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "scripts/kernel-matrix.sh: needs root (the VM testbed)" >&2; exit 2; }
XDPLAT_VM_KERNELS=${XDPLAT_VM_KERNELS:-"5.10 6.1 6.12"} scripts/setup.sh --with-vm
out=$(mktemp -d "${TMPDIR:-/tmp}/xdplat-kernel-matrix.XXXXXX")
trap 'rm -rf "$out"' EXIT
cargo build --tests -p xdp >/dev/null
XDPLAT_KERNEL_MATRIX_OUT=$out cargo test -p xdplat --test vm_kernels -- --nocapture
python3 - "$out/table.md" README.md <<'PY'
import sys
table, readme = open(sys.argv[1]).read(), sys.argv[2]
text = open(readme).read()
begin, end = "<!-- kernel-matrix:begin -->", "<!-- kernel-matrix:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(readme, "w").write(f"{head}{begin}\n{table}{end}{tail}")
PY
echo "scripts/kernel-matrix.sh: README.md's kernel matrix written"
