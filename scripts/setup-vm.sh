#!/usr/bin/env bash
# Installs what the VM testbed (`xdplat testbed up --kind vm`) needs, and nothing else; idempotent,
# one progress line per step. Called by `scripts/setup.sh --with-vm` (and so by scripts/test.sh).
#
#   qemu-system-x86  QEMU >= 8.0 (igb came in 8.0). Debian 12's own is 7.2, so on bookworm it
#                    comes from bookworm-backports, resolved against a private sources list and a
#                    private lists directory: the system's apt configuration is never changed.
#   kmod busybox-static file openssh-server openssh-client python3-venv
#                    depmod for the guest kernel's modules; busybox for virtme-ng's initramfs; file
#                    for its kernel version probe; sshd runs in the guest, ssh reaches it.
#   virtme-ng        (PyPI, pinned) in a venv in the cache: boots a kernel over the host's root.
#   guest kernel     the host's own (/boot/vmlinuz-$(uname -r) + /lib/modules) when it has one;
#                    otherwise a Debian kernel (trixie-backports, series $KERNEL_SERIES) fetched
#                    with apt into the cache (private sources list again), unpacked with dpkg -x
#                    and indexed with depmod -b. `xdplat testbed up --kernel PATH` overrides.
#   kernel matrix    with XDPLAT_VM_KERNELS="5.10 6.1 6.12" (scripts/test.sh sets it as root): each
#                    series' newest Debian kernel too (bullseye, bookworm, trixie and their
#                    security suites), in the cache as kernel/<release>, named kernel/series-<S>;
#                    `xdplat testbed up --kind vm --kernel 6.1` boots it. A series that cannot be
#                    fetched is written to kernel/series-<S>.missing with the reason (the kernel
#                    matrix test counts it as a skip) and does not fail the setup.
#
# The cache ($XDPLAT_VM_CACHE, default /opt/xdplat-vm) must not be under /var/cache, /var/tmp,
# /var/log or /var/lib/apt: virtme-ng mounts tmpfs over those in the guest, which must read the
# kernel modules and virtme-ng's guest tools from it.
# Usage: scripts/setup-vm.sh
set -euo pipefail

cache=${XDPLAT_VM_CACHE:-/opt/xdplat-vm}
virtme_ng_version=1.42
KERNEL_SERIES=${XDPLAT_VM_KERNEL_SERIES:-7.3}
# room needed when something is downloaded: qemu ~60 MB, kernel ~125 MB packed, ~600 MB unpacked
need_mb=1200
steps=6
t0=$SECONDS

say() { echo "setup-vm: $*" >&2; }
step() { say "[$1/$steps] $2"; }
fail() { say "$1"; exit "${2:-1}"; }

[[ $(id -u) -eq 0 ]] || fail "needs root (apt-get, dpkg -x into $cache); run it as root" 2
case $cache in
  /var/cache/* | /var/tmp/* | /var/log/* | /var/lib/apt/*)
    fail "XDPLAT_VM_CACHE=$cache: virtme-ng hides that directory in the guest; use another one (default /opt/xdplat-vm)" 2 ;;
esac

# The Debian mirror the system already uses (never a host named here).
mirror() {
  local m
  m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 -i debian || true)
  [[ -n $m ]] || m=$(awk '$1 == "deb" && $0 ~ /debian/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  echo "${m%% *}"
}

# apt-get against a private sources list and private lists/cache directories under $1.
private_apt() {
  local dir=$1
  shift
  "${APT:-apt-get}" -q -o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts="$dir/sources.list.d" \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" -o APT::Get::List-Cleanup=0 "$@"
}

private_apt_dir() {
  local dir=$1
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/sources.list.d"
}

ensure_room() {
  mkdir -p "$cache"
  local avail
  avail=$(df -Pm "$cache" | awk 'NR == 2 { print $4 }')
  if ((avail < need_mb)); then
    fail "only ${avail} MB free for $cache (${need_mb} MB needed for QEMU and the guest kernel); free some space or set XDPLAT_VM_CACHE to a directory on a filesystem with room" 2
  fi
}

qemu_major() {
  local v
  v=$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')
  echo "${v:-0}"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# 1. plain packages
step 1 "packages: kmod busybox-static file openssh-server openssh-client python3-venv"
packages=(kmod busybox-static file openssh-server openssh-client python3-venv)
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  say "    installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. QEMU >= 8.0
step 2 "QEMU >= 8.0 (qemu-system-x86)"
if (($(qemu_major) < 8)); then
  ensure_room
  export DEBIAN_FRONTEND=noninteractive
  . /etc/os-release
  if [[ ${ID:-} == debian && ${VERSION_CODENAME:-} == bookworm ]]; then
    m=$(mirror)
    [[ -n $m ]] || fail "cannot tell which Debian mirror this system uses (no URIs in /etc/apt/sources.list.d/*.sources nor a deb line in /etc/apt/sources.list)"
    say "    QEMU 10 from bookworm-backports (private sources list $cache/apt-qemu; the system's stays as it is)"
    d=$cache/apt-qemu
    private_apt_dir "$d"
    # the system's own sources (for dependencies) plus bookworm-backports
    { cat /etc/apt/sources.list 2>/dev/null || true
      echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m bookworm-backports main"; } >"$d/sources.list"
    rm -f "$d/sources.list.d"/*
    cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$d/sources.list.d/" 2>/dev/null || true
    private_apt "$d" update -qq >/dev/null
    private_apt "$d" install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 >/dev/null
  else
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
  fi
  (($(qemu_major) >= 8)) || say "    warning: $(qemu-system-x86_64 --version | head -n1): below 8.0, the VM testbed has virtio-net only (no igb)"
fi
say "    $(qemu-system-x86_64 --version | head -n1)"

# 3. virtme-ng in a venv
step 3 "virtme-ng $virtme_ng_version (venv $cache/venv)"
if [[ $("$cache/venv/bin/vng" --version 2>/dev/null || true) != *"$virtme_ng_version"* ]]; then
  ensure_room
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q --disable-pip-version-check "virtme-ng==$virtme_ng_version"
fi

# 4. the guest kernel
step 4 "guest kernel"
host_kernel=/boot/vmlinuz-$(uname -r)
if [[ -r $host_kernel && -d /lib/modules/$(uname -r)/kernel ]]; then
  say "    the host's own: $host_kernel"
elif [[ -L $cache/kernel/current && -e $cache/kernel/current/root/lib/modules ]]; then
  say "    cached: $(readlink "$cache/kernel/current")"
else
  ensure_room
  m=$(mirror)
  [[ -n $m ]] || fail "cannot tell which Debian mirror this system uses; give the VM testbed a kernel with --kernel PATH"
  d=$cache/apt-kernel
  private_apt_dir "$d"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m trixie-backports main" >"$d/sources.list"
  private_apt "$d" update -qq >/dev/null
  # the newest linux-binary-unsigned-$KERNEL_SERIES.*-amd64 (e.g. 7.3.4+deb13-amd64)
  kver=$(APT=apt-cache private_apt "$d" pkgnames linux-binary-unsigned- |
    sed -n "s/^linux-binary-unsigned-\(${KERNEL_SERIES//./\\.}\.[0-9]*+deb[0-9]*-amd64\)$/\1/p" | sort -V | tail -n1)
  [[ -n $kver ]] || fail "no linux-binary-unsigned-$KERNEL_SERIES.*-amd64 in trixie-backports; set XDPLAT_VM_KERNEL_SERIES (e.g. 7.2) or give --kernel PATH"
  say "    Linux $kver from trixie-backports (~125 MB download)"
  dl=$cache/kernel/$kver.debs
  rm -rf "$dl" && mkdir -p "$dl"
  (cd "$dl" && private_apt "$d" -o APT::Sandbox::User=root download -qq "linux-binary-unsigned-$kver" "linux-modules-$kver" "linux-base-$kver" >/dev/null)
  root=$cache/kernel/$kver.tmp/root
  rm -rf "$cache/kernel/$kver.tmp" && mkdir -p "$root"
  for deb in "$dl"/*.deb; do dpkg -x "$deb" "$root"; done
  # merged /usr: modules are in usr/lib/modules; depmod -b and virtme-ng look in lib/modules
  [[ -e $root/lib ]] || ln -s usr/lib "$root/lib"
  depmod -b "$root" "$kver"
  # the image is usr/lib/modules/$kver/vmlinuz.unsigned in these packages, boot/vmlinuz-$kver in older ones
  if [[ ! -e $root/boot/vmlinuz-$kver ]]; then
    img=$(ls "$root/usr/lib/modules/$kver"/vmlinuz* 2>/dev/null | head -n1)
    [[ -n $img ]] || fail "no kernel image in the packages of $kver"
    mkdir -p "$root/boot"
    ln -s "../usr/lib/modules/$kver/${img##*/}" "$root/boot/vmlinuz-$kver"
  fi
  rm -rf "$cache/kernel/$kver" "$dl"
  mv "$cache/kernel/$kver.tmp" "$cache/kernel/$kver"
  ln -sfn "$kver" "$cache/kernel/current"
fi

# 5. the kernel matrix: one Debian kernel per series of XDPLAT_VM_KERNELS
matrix=${XDPLAT_VM_KERNELS:-}
step 5 "kernel matrix: ${matrix:-none asked (XDPLAT_VM_KERNELS)}"
# the suites that carry each series (the security suite has the newest build of a stable one)
suites_of() {
  case $1 in
    5.10) echo "bullseye bullseye-security" ;;
    6.1) echo "bookworm bookworm-security bookworm-updates" ;;
    6.12) echo "trixie trixie-security trixie-updates (trixie's own build, +deb13)" ;;
    *) echo "trixie-backports" ;;
  esac
}
# the default kernel is a series of the matrix too
if [[ -L $cache/kernel/current ]]; then
  cur=$(readlink "$cache/kernel/current")
  ln -sfn "$cur" "$cache/kernel/series-$(echo "$cur" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')"
fi
matrix_lists=0
for series in $matrix; do
  link=$cache/kernel/series-$series
  rm -f "$link.missing"
  if [[ -L $link && -e $link/root/lib/modules ]]; then
    say "    $series: cached ($(readlink "$link"))"
    continue
  fi
  missing() { say "    $series: cannot be had: $1 (the kernel matrix skips it)"; mkdir -p "$cache/kernel"; echo "$1" >"$link.missing"; }
  m=$(mirror)
  [[ -n $m ]] || { missing "no Debian mirror configured on this system"; continue; }
  d=$cache/apt-matrix
  private_apt_dir "$d"
  if ((!matrix_lists)); then
    : >"$d/sources.list"
    for suite in bullseye bullseye-security bookworm bookworm-security bookworm-updates trixie trixie-security trixie-updates; do
      case $suite in
        *-security) echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${m%/debian*}/debian-security $suite main" ;;
        *) echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m $suite main" ;;
      esac
    done >>"$d/sources.list"
    # a suite the mirror lacks is a warning here: its series is then found missing below
    private_apt "$d" update -qq >/dev/null 2>&1 || say "    some suites could not be read (apt-get update failed in part)"
    matrix_lists=1
  fi
  [[ $series == [0-9]*.[0-9]* ]] || { missing "not a kernel series (expected like 6.1)"; continue; }
  pkg=$(APT=apt-cache private_apt "$d" pkgnames linux-image- |
    grep -E "^linux-image-${series//./\\.}(\.0-[0-9]+|\.[0-9]+\+deb[0-9]+)-amd64-unsigned$" |
    { if [[ $series == 6.12 ]]; then grep -F '+deb13-'; else cat; fi; } | sort -V | tail -n1 || true)
  [[ -n $pkg ]] || { missing "no linux-image-$series.*-amd64-unsigned in $(suites_of "$series")"; continue; }
  kver=${pkg#linux-image-}
  kver=${kver%-unsigned}
  ensure_room
  say "    $series: Linux $kver ($pkg)"
  dl=$cache/kernel/$kver.debs
  rm -rf "$dl" && mkdir -p "$dl"
  if ! (cd "$dl" && private_apt "$d" -o APT::Sandbox::User=root download -qq "$pkg" >/dev/null 2>&1); then
    rm -rf "$dl"
    missing "the download of $pkg failed"
    continue
  fi
  root=$cache/kernel/$kver.tmp/root
  rm -rf "$cache/kernel/$kver.tmp" && mkdir -p "$root"
  for deb in "$dl"/*.deb; do dpkg -x "$deb" "$root"; done
  [[ -e $root/lib ]] || ln -s usr/lib "$root/lib"
  depmod -b "$root" "$kver"
  [[ -e $root/boot/vmlinuz-$kver ]] || { rm -rf "$cache/kernel/$kver.tmp" "$dl"; missing "no /boot/vmlinuz-$kver in $pkg"; continue; }
  rm -rf "$cache/kernel/$kver" "$dl"
  mv "$cache/kernel/$kver.tmp" "$cache/kernel/$kver"
  ln -sfn "$kver" "$link"
done

step 6 "done in $((SECONDS - t0)) s (cache $cache: $(du -sh "$cache" 2>/dev/null | cut -f1))"
