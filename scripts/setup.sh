#!/usr/bin/env bash
# Installs what xdplat needs to build, test and run on Debian/Ubuntu, and nothing else.
# Idempotent: packages already present are left alone, and apt is only called when one is missing.
# Usage: scripts/setup.sh [--with-test-deps] [--with-vm]
#   --with-vm  also what the VM testbed needs (QEMU >= 8, virtme-ng, a guest kernel: scripts/setup-vm.sh)
set -euo pipefail
here=$(dirname "$0")
test_deps=0 vm=0
for a in "$@"; do
  case $a in
    --with-test-deps) test_deps=1 ;;
    --with-vm) vm=1 ;;
    *) echo "scripts/setup.sh: unknown option $a (expected --with-test-deps, --with-vm)" >&2; exit 2 ;;
  esac
done

# build: clang compiles the XDP program; libbpf-sys builds its vendored libbpf with make against
# libelf and zlib, found through pkg-config; linux-libc-dev and libbpf-dev give the BPF headers.
packages=(clang make pkg-config libelf-dev zlib1g-dev linux-libc-dev libbpf-dev)
# run: namespaces and veth pairs for the testbed, ethtool for interface facts in tests and docs.
packages+=(iproute2 ethtool iputils-ping procps)
if ((test_deps)); then
  # tests: a real sshd for remote runs, binutils and bpftrace for the USDT probes, chromium for the report test,
  # capsh (libcap2-bin) and setpriv (util-linux) to run the roles with the least capabilities.
  # python3-venv: the venv of scripts/bench-setup.sh (pyarrow and scikit-learn comparisons).
  # sockperf: the kernel baseline's reference (xdplat bench's udp_vs_sockperf).
  packages+=(openssh-server openssh-client binutils chromium bpftrace libcap2-bin util-linux python3-venv sockperf)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "scripts/setup.sh: missing packages: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 2
  fi
  echo "scripts/setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((vm)); then
  "$here/setup-vm.sh"
fi
