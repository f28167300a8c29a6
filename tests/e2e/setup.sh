#!/usr/bin/env bash
# Idempotent installer for the end-to-end harness on a fresh Debian 12 machine (as root).
# Uses only Debian's package registry:
#   - QEMU from bookworm-backports (QEMU >= 8 has `-device igb`; bookworm's 7.2 does not),
#   - busybox-static, cpio, xz-utils (to build the initramfs),
#   - the current Debian kernel, resolved through the `linux-image-amd64` metapackage
#     (never a pinned version: the mirror keeps only the newest) and unpacked into
#     tests/e2e/cache/kernel/ with `dpkg-deb -x`.
# For the systemd guest (run-systemd.sh) also:
#   - mmdebstrap, and with it a Debian bookworm root file system (minbase + systemd, udev, kmod),
#     packed as tests/e2e/cache/systemd-rootfs.cpio by systemd/build-rootfs.sh;
#   - the yip binary, built with the local Go toolchain from the Go module proxy at the version
#     pinned in tests/e2e/yip/go.mod, into tests/e2e/cache/yip;
#   - e2fsprogs (mkfs.ext4, debugfs) for the upgrade boots' disks (nothing cached: each run
#     makes its own, and both OS images are the cached root file systems plus systemd/image-a,
#     systemd/image-b).
# For the DPDK scenario (datapath-dpdk):
#   - Debian bookworm's dpdk-testpmd and only the libraries it loads, unpacked by mmdebstrap
#     (variant extract) and packed as tests/e2e/cache/dpdk-rootfs.cpio by dpdk/build-rootfs.sh.
# For the per-VF benchmark (scripts/bench-vf.sh):
#   - Debian bookworm's iproute2 `ip`, `bash` and `strace` with their libraries, the same way, packed as
#     tests/e2e/cache/iproute2-rootfs.cpio by iproute2/build-rootfs.sh.
# Work already done is skipped: run it as often as you like.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="$here/cache"
mkdir -p "$cache"

log() { echo "e2e-setup: $*" >&2; }
die() { echo "e2e-setup: error: $*" >&2; exit 2; }

as_root() {
    [ "$(id -u)" = 0 ] || die "$1 is missing and installing it needs root: run 'sudo bash $0'"
}

apt_updated=
apt_update() {
    [ -n "$apt_updated" ] && return 0
    apt-get update -qq
    apt_updated=1
}

# --- 1. bookworm-backports suite -----------------------------------------------------------
backports_list=/etc/apt/sources.list.d/bookworm-backports.list
has_backports() {
    grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}
if ! has_backports; then
    as_root "the bookworm-backports apt suite"
    log "adding bookworm-backports to apt ($backports_list)"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' >"$backports_list"
    apt_updated=
fi

# --- 2. packages ------------------------------------------------------------------------------
qemu_has_igb() {
    command -v qemu-system-x86_64 >/dev/null 2>&1 &&
        qemu-system-x86_64 -device help 2>/dev/null | grep '"igb"' >/dev/null
}
if ! qemu_has_igb; then
    as_root "qemu-system-x86 (with -device igb)"
    apt_update
    log "installing qemu-system-x86 from bookworm-backports"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports qemu-system-x86 >/dev/null
    qemu_has_igb || die "qemu-system-x86_64 still has no '-device igb'"
fi
need_pkg=()
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x insmod >/dev/null &&
    file -L /bin/busybox 2>/dev/null | grep -E 'statically linked|static-pie' >/dev/null || need_pkg+=(busybox-static)
command -v cpio >/dev/null 2>&1 || need_pkg+=(cpio)
command -v xz >/dev/null 2>&1 || need_pkg+=(xz-utils)
command -v file >/dev/null 2>&1 || need_pkg+=(file)
command -v mmdebstrap >/dev/null 2>&1 || need_pkg+=(mmdebstrap)
command -v readelf >/dev/null 2>&1 || need_pkg+=(binutils)
# the systemd guest's upgrade boots make the node's disks with mkfs.ext4 -d and read them with debugfs
{ command -v mkfs.ext4 && command -v debugfs; } >/dev/null 2>&1 || need_pkg+=(e2fsprogs)
if [ "${#need_pkg[@]}" -gt 0 ]; then
    as_root "${need_pkg[*]}"
    apt_update
    log "installing ${need_pkg[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkg[@]}" >/dev/null
fi

# --- 3. kernel --------------------------------------------------------------------------------
# tests/e2e/cache/kernel/ holds the unpacked package; tests/e2e/cache/kernel.version its name.
kdir="$cache/kernel"
if [ -s "$cache/kernel.version" ] && [ -d "$kdir/lib/modules/$(cat "$cache/kernel.version")" ]; then
    log "kernel $(cat "$cache/kernel.version") already unpacked in $kdir"
else
    apt_update
    # linux-image-amd64 depends on exactly one linux-image-<version>-amd64 package.
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$pkg" ] || die "cannot resolve the kernel package behind linux-image-amd64 (apt-cache depends)"
    log "downloading $pkg (through linux-image-amd64)"
    rm -rf "$cache/deb" "$kdir"
    mkdir -p "$cache/deb"
    # -o APT::Sandbox::User=root: the cache dir is not readable by the _apt user (no warning).
    (cd "$cache/deb" && apt-get download -qq -o APT::Sandbox::User=root "$pkg")
    deb=$(ls "$cache"/deb/*.deb)
    dpkg-deb -x "$deb" "$kdir.tmp"
    mv "$kdir.tmp" "$kdir"
    version=$(ls "$kdir/lib/modules" | head -n1)
    [ -n "$version" ] || die "no lib/modules/<version> in $deb"
    echo "$version" >"$cache/kernel.version"
    rm -rf "$cache/deb"
    log "kernel $version unpacked in $kdir"
fi
version=$(cat "$cache/kernel.version")
[ -f "$kdir/boot/vmlinuz-$version" ] || die "missing $kdir/boot/vmlinuz-$version"

# --- 4. uncompressed kernel -------------------------------------------------------------------
# QEMU boots an ELF vmlinux directly (PVH entry, CONFIG_PVH=y in Debian's config), which skips
# the xz decompression that is slow under TCG. Optional: run.sh falls back to vmlinuz.
vmlinux="$cache/vmlinux-$version"
if [ ! -s "$vmlinux" ]; then
    vmlinuz="$kdir/boot/vmlinuz-$version"
    # The payload of a bzImage is a compressed ELF; Debian uses xz (CONFIG_KERNEL_XZ).
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1 || true)
    if [ -n "$off" ] && xz -dc --single-stream <(tail -c +$((off + 1)) "$vmlinuz") >"$vmlinux.tmp" 2>/dev/null &&
        [ "$(head -c 4 "$vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        mv "$vmlinux.tmp" "$vmlinux"
        log "extracted $vmlinux (PVH boot)"
    else
        rm -f "$vmlinux.tmp"
        log "could not extract an ELF vmlinux from $vmlinuz: run.sh will boot the bzImage (slower)"
    fi
fi
# --- 5. Debian root file system of the systemd guest -----------------------------------------------
# Rebuilt when the kernel (its modules are inside) or the recipe changes.
rootfs="$cache/systemd-rootfs.cpio"
stamp="kernel=$version recipe=$(sha256sum "$here/systemd/build-rootfs.sh" | cut -c1-16)"
if [ -s "$rootfs" ] && [ "$(cat "$rootfs.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "systemd guest root file system already built ($rootfs)"
else
    as_root "the systemd guest's root file system"
    log "building the systemd guest's root file system (mmdebstrap bookworm, ~1-2 min)"
    rm -f "$rootfs.stamp"
    bash "$here/systemd/build-rootfs.sh" "$rootfs" "$kdir" "$version"
    echo "$stamp" >"$rootfs.stamp"
fi

# --- 5b. the same with NetworkManager (Harvester v1.7 on): the systemd guest's NetworkManager run
rootfs="$cache/systemd-nm-rootfs.cpio"
stamp="kernel=$version recipe=$(sha256sum "$here/systemd/build-rootfs.sh" | cut -c1-16) extra=network-manager,dbus"
if [ -s "$rootfs" ] && [ "$(cat "$rootfs.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "systemd guest root file system with NetworkManager already built ($rootfs)"
else
    as_root "the systemd guest's root file system with NetworkManager"
    log "building the systemd guest's root file system with NetworkManager (mmdebstrap bookworm, ~1-2 min)"
    rm -f "$rootfs.stamp"
    bash "$here/systemd/build-rootfs.sh" "$rootfs" "$kdir" "$version" network-manager,dbus
    echo "$stamp" >"$rootfs.stamp"
fi

# --- 6. the DPDK layer of the busybox guest (dpdk-testpmd and its libraries) ----------------------
# Rebuilt when the recipe changes; the packages are bookworm's current ones.
dpdk="$cache/dpdk-rootfs.cpio"
stamp="recipe=$(sha256sum "$here/dpdk/build-rootfs.sh" | cut -c1-16)"
if [ -s "$dpdk" ] && [ "$(cat "$dpdk.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "DPDK layer already built ($dpdk)"
else
    as_root "the DPDK layer (dpdk-testpmd)"
    apt_update
    log "building the DPDK layer (dpdk-testpmd from bookworm's dpdk-dev, ~20 s)"
    rm -f "$dpdk.stamp"
    bash "$here/dpdk/build-rootfs.sh" "$dpdk"
    echo "$stamp" >"$dpdk.stamp"
fi

# --- 7. the iproute2 layer of the busybox guest (ip, bash, strace; scripts/bench-vf.sh) -------------
# Rebuilt when the recipe changes; the packages are bookworm's current ones.
iproute2="$cache/iproute2-rootfs.cpio"
stamp="recipe=$(sha256sum "$here/iproute2/build-rootfs.sh" | cut -c1-16)"
if [ -s "$iproute2" ] && [ "$(cat "$iproute2.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "iproute2 layer already built ($iproute2)"
else
    as_root "the iproute2 layer (ip, bash, strace)"
    log "building the iproute2 layer (bookworm's iproute2, bash and strace, ~10 s)"
    rm -f "$iproute2.stamp"
    bash "$here/iproute2/build-rootfs.sh" "$iproute2"
    echo "$stamp" >"$iproute2.stamp"
fi

# --- 8. yip, the cloud-init runner of Harvester's OS -------------------------------------------------
# Built from the Go module proxy at the version pinned in tests/e2e/yip/go.mod (go.sum checked);
# GOTOOLCHAIN=local: no toolchain download. Never committed.
yip="$cache/yip"
stamp="$(cat "$here/yip/go.mod" "$here/yip/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$yip" ] && [ "$(cat "$yip.stamp" 2>/dev/null)" = "$stamp" ]; then
    log "yip already built ($yip)"
else
    command -v go >/dev/null 2>&1 || die "go is missing: install Go (>= 1.24) to build yip"
    yip_version=$(cd "$here/yip" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' github.com/rancher/yip)
    log "building yip $yip_version (tests/e2e/yip/go.mod)"
    rm -f "$yip.stamp"
    (cd "$here/yip" && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 go build -trimpath \
        -ldflags "-X github.com/rancher/yip/cmd.CLIVersion=$yip_version" -o "$yip.tmp" github.com/rancher/yip)
    mv "$yip.tmp" "$yip"
    echo "$stamp" >"$yip.stamp"
fi
echo "e2e-setup: ready: $(qemu-system-x86_64 --version | head -n1); kernel $version; yip $("$yip" --version 2>&1 | awk '{ sub(/-g$/, "", $3); print $3 }')" >&2
