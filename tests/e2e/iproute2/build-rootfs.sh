#!/usr/bin/env bash
# Build the iproute2 layer of the busybox e2e guest: Debian bookworm's `ip` (iproute2), `bash`
# and `strace` with only the shared libraries they load, as an uncompressed newc cpio that run.sh
# appends to the busybox initramfs (E2E_INITRD_EXTRA), for scripts/bench-vf.sh
# (tests/e2e/scenarios/bench-vf.sh).
#
#   build-rootfs.sh OUTPUT.cpio
#
# Why: busybox's `ip` has no `link set DEV vf N ...`, and busybox's shells have no clock finer
# than a second; the benchmark needs iproute2's `ip` (the per-VF command a person would type) and
# bash's EPOCHREALTIME (microseconds) to time both sides in the guest, and strace to count the
# netlink requests each side sends (a counter that is neither ours nor iproute2's).
# How, from Debian's own packages: `mmdebstrap --variant=extract --include=iproute2,bash,strace`
# unpacks the three packages with what apt resolves as their dependencies (nothing installed, no
# maintainer scripts); ip, bash and strace go to /opt/iproute2/bin (busybox's applets in /bin stay
# as they are), lib/, lib64/ and usr/lib/ are packed, and the build fails unless the dynamic loader resolves
# every library the three programs need inside the tree.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTPUT.cpio" >&2; exit 2; }
out=$1
die() { echo "build-iproute2: error: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "building the iproute2 layer needs root (mmdebstrap)"
for c in mmdebstrap cpio; do
    command -v "$c" >/dev/null 2>&1 || die "$c is missing: run tests/e2e/setup.sh as root"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-iproute2.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
mmdebstrap --quiet --variant=extract --aptopt='APT::Install-Recommends "false"' \
    --include=iproute2,bash,strace \
    --dpkgopt='path-exclude=/usr/share/*' \
    bookworm "$root" http://deb.debian.org/debian

find_bin() { # NAME: its path in the tree (bookworm's packages ship /bin or /sbin, usr-merged or not)
    local d
    for d in bin sbin usr/bin usr/sbin; do
        [ -f "$root/$d/$1" ] && { echo "$root/$d/$1"; return 0; }
    done
    die "no $1 in the unpacked tree"
}
ip=$(find_bin ip)
bash=$(find_bin bash)
strace=$(find_bin strace)
ld="$root/lib64/ld-linux-x86-64.so.2"
[ -e "$ld" ] || ld="$root/usr/lib64/ld-linux-x86-64.so.2"
[ -e "$ld" ] || die "no dynamic loader in the tree (libc6 missing?)"
libpath="$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu"
for f in "$ip" "$bash" "$strace"; do
    missing=$("$ld" --library-path "$libpath" --list "$f" 2>&1 | grep 'not found' || true)
    [ -z "$missing" ] || die "${f#"$root"} needs libraries not in the tree: $missing"
done

pack="$work/pack"
mkdir -p "$pack/usr" "$pack/opt/iproute2/bin"
for d in lib lib64; do
    # usr-merged trees have lib -> usr/lib: pack the real directories under their own names.
    [ -e "$root/$d" ] && cp -aL "$root/$d" "$pack/"
done
cp -a "$root/usr/lib" "$pack/usr/"
install -m 0755 "$ip" "$pack/opt/iproute2/bin/ip"
install -m 0755 "$bash" "$pack/opt/iproute2/bin/bash"
install -m 0755 "$strace" "$pack/opt/iproute2/bin/strace"
# iproute2 reads its tables (rt_tables, protocols...) from /usr/share/iproute2 or /etc/iproute2;
# `ip link set ... vf` needs none of them.
rm -rf "$pack"/usr/lib/python3* "$pack"/usr/lib/x86_64-linux-gnu/perl* "$pack"/usr/lib/x86_64-linux-gnu/gconv \
    "$pack"/lib/systemd "$pack"/lib/udev "$pack"/usr/lib/systemd "$pack"/usr/lib/udev
(cd "$pack" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-iproute2: $out ($("$pack/opt/iproute2/bin/ip" -V 2>/dev/null || echo "ip"); $(du -sh "$pack" | cut -f1) unpacked)" >&2
