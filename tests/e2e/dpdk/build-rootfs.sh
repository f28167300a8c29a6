#!/usr/bin/env bash
# Build the DPDK layer of the busybox e2e guest: Debian bookworm's `dpdk-testpmd` and only the
# shared libraries it needs, as an uncompressed newc cpio that run.sh appends to the busybox
# initramfs (E2E_INITRD_EXTRA; the kernel unpacks concatenated archives in order).
#
#   build-rootfs.sh OUTPUT.cpio
#
# Why not `mmdebstrap --include=dpdk-dev`: bookworm ships dpdk-testpmd in `dpdk-dev`, which pulls in
# libdpdk-dev (every header and -dev package behind it), python3 and an installed minbase system
# (measured: 6.5 min, 428 MiB). Here instead, from Debian's own packages:
#   1. `apt-get download dpdk-dev` and `dpkg-deb -x`: only usr/bin/dpdk-testpmd is kept;
#   2. its ELF NEEDED entries name the DPDK libraries it links (librte_X.so.23 is in Debian's
#      package librte-X23, librte-X-23 when X ends in a digit); with the PMDs the e2e hardware
#      needs (librte-net-e1000-23: net_e1000_igb and net_e1000_igb_vf; librte-net-virtio23: the
#      virtio-net side of scripts/bench-datapath.sh; librte-mempool-ring23: the default mempool)
#      they are unpacked, with what apt resolves as their dependencies, by
#      `mmdebstrap --variant=extract` (nothing installed, no maintainer scripts, no essential set);
#   3. only lib/, lib64/ and usr/lib/ are packed (no /bin: busybox's applets stay), and the
#      dynamic loader resolves every library of dpdk-testpmd and of every PMD in the tree, or the
#      build fails: DPDK 22.11's EAL dlopens every file of its driver directory at start
#      (DPDK/dpdk:lib/eal/common/eal_common_options.c, eal_plugins_init) and gives up on the
#      first that does not load.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTPUT.cpio" >&2; exit 2; }
out=$1
die() { echo "build-dpdk: error: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "building the DPDK layer needs root (mmdebstrap, apt-get)"
for c in mmdebstrap apt-get dpkg-deb readelf cpio; do
    command -v "$c" >/dev/null 2>&1 || die "$c is missing: run tests/e2e/setup.sh as root"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-dpdk.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/deb" "$work/dev"

# --- 1. dpdk-testpmd out of dpdk-dev -------------------------------------------------------------
(cd "$work/deb" && apt-get download -qq -o APT::Sandbox::User=root dpdk-dev)
dpkg-deb -x "$work"/deb/dpdk-dev_*.deb "$work/dev"
testpmd="$work/dev/usr/bin/dpdk-testpmd"
[ -x "$testpmd" ] || die "dpdk-dev has no usr/bin/dpdk-testpmd"
version=$(dpkg-deb -f "$work"/deb/dpdk-dev_*.deb Version)

# --- 2. the packages of its DPDK libraries, and the e2e hardware's PMDs ----------------------------
pkgs=(librte-net-e1000-23 librte-net-virtio23 librte-mempool-ring23)
for so in $(readelf -d "$testpmd" | sed -n 's/.*(NEEDED).*\[librte_\(.*\)\.so\.\([0-9]*\)\]/\1:\2/p'); do
    name=${so%%:*} abi=${so##*:}
    name=${name//_/-}
    case $name in
    *[0-9]) pkgs+=("librte-$name-$abi") ;;
    *) pkgs+=("librte-$name$abi") ;;
    esac
done
root="$work/root"
mmdebstrap --quiet --variant=extract --aptopt='APT::Install-Recommends "false"' \
    --include="$(
        IFS=,
        echo "${pkgs[*]}"
    )" \
    --dpkgopt='path-exclude=/usr/share/*' \
    bookworm "$root" http://deb.debian.org/debian
install -D -m 0755 "$testpmd" "$root/usr/bin/dpdk-testpmd"

# --- 3. check every library resolves, then pack ----------------------------------------------------
ld="$root/lib64/ld-linux-x86-64.so.2"
[ -e "$ld" ] || die "no dynamic loader in the tree (libc6 missing?)"
libpath="$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu"
pmddir=$(find "$root/usr/lib/x86_64-linux-gnu/dpdk" -maxdepth 1 -type d -name 'pmds-*' | head -n1)
[ -n "$pmddir" ] || die "no DPDK driver directory (usr/lib/x86_64-linux-gnu/dpdk/pmds-*)"
for f in "$root/usr/bin/dpdk-testpmd" "$pmddir"/*.so.*; do
    missing=$("$ld" --library-path "$libpath" --list "$f" 2>&1 | grep 'not found' || true)
    [ -z "$missing" ] || die "${f#"$root"} needs libraries not in the tree: $missing"
done
pack="$work/pack"
mkdir -p "$pack/usr"
cp -a "$root/lib" "$root/lib64" "$pack/"
cp -a "$root/usr/lib" "$pack/usr/"
mkdir -p "$pack/usr/bin"
cp -a "$root/usr/bin/dpdk-testpmd" "$pack/usr/bin/"
# What no process of the guest loads: python modules, perl, udev/systemd bits, gconv.
rm -rf "$pack"/usr/lib/python3* "$pack"/usr/lib/x86_64-linux-gnu/perl* "$pack"/usr/lib/x86_64-linux-gnu/gconv \
    "$pack"/lib/systemd "$pack"/lib/udev "$pack"/usr/lib/systemd "$pack"/usr/lib/udev
(cd "$pack" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-dpdk: $out (dpdk-testpmd $version; $(du -sh "$pack" | cut -f1) unpacked; $(ls "$pmddir" | grep -c '\.so\.[0-9]*$') driver files in ${pmddir#"$root"})" >&2
