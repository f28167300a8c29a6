#!/usr/bin/env bash
# Build the Debian root file system of the systemd e2e guest, as an uncompressed newc cpio that
# the kernel unpacks as its initramfs (PID 1 is then the guest's /init, which ends in systemd).
#
#   build-rootfs.sh OUTPUT.cpio KERNEL_DIR KERNEL_VERSION [EXTRA_PACKAGES]
#
# EXTRA_PACKAGES (comma-separated) are installed too: setup.sh builds a second root file system with
# `network-manager,dbus`, the host stack of Harvester v1.7 and later (systemd-nm-rootfs.cpio).
#
# Debian bookworm, variant minbase, plus systemd, udev, kmod and iproute2 (`ip -d link show`, the
# reader of per-VF settings that is not ours), from Debian's own packages
# (mmdebstrap, run as root). Then made small and fast for a test guest:
#   - no docs, man pages, locales (dpkg path-exclude), no apt lists or caches;
#   - nothing the guest never runs: perl, iconv modules, udev's hardware database;
#   - units that only slow a throw-away boot down, or wait for a person, are masked
#     (getty on tty1 and the serial console, systemd-firstboot, timers, ...);
#   - the kernel modules of the e2e hardware (igb, igbvf, vfio-pci and their dependencies, from
#     the Debian kernel unpacked by setup.sh) with a depmod index, so udev loads igb at boot as on
#     a real node (coldplug, by modalias) and modprobe.d files apply.
# Per-run files (the tool's, yip, the stand-in units, /init) come in a second cpio (run-systemd.sh).
set -euo pipefail
[ $# -eq 3 ] || [ $# -eq 4 ] || { echo "usage: $0 OUTPUT.cpio KERNEL_DIR KERNEL_VERSION [EXTRA_PACKAGES]" >&2; exit 2; }
out=$1 kdir=$2 version=$3 extra=${4:-}
die() { echo "build-rootfs: error: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "building the root file system needs root (mmdebstrap, device nodes)"
command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is missing: run tests/e2e/setup.sh as root"
moddir="$kdir/lib/modules/$version"
[ -d "$moddir" ] || die "missing $moddir: run tests/e2e/setup.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"

mmdebstrap --quiet --variant=minbase --include="systemd,udev,kmod,iproute2${extra:+,$extra}" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$root" http://deb.debian.org/debian

# --- slim: what no unit of this guest runs ------------------------------------------------------
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/usr/lib/x86_64-linux-gnu/perl "$root"/usr/lib/x86_64-linux-gnu/perl-base \
    "$root"/usr/lib/x86_64-linux-gnu/libperl.so* "$root"/usr/share/perl "$root"/usr/share/perl5 \
    "$root"/usr/bin/perl "$root"/usr/bin/perl5* \
    "$root"/usr/lib/x86_64-linux-gnu/gconv \
    "$root"/usr/lib/udev/hwdb.bin "$root"/usr/lib/udev/hwdb.d "$root"/etc/udev/hwdb.bin

# --- systemd configuration ----------------------------------------------------------------------
echo e2e-systemd >"$root/etc/hostname"
# A fixed machine id: no first-boot logic (systemd-firstboot would prompt on the console).
echo 5ea1c0de5ea1c0de5ea1c0de5ea1c0de >"$root/etc/machine-id"
ln -sf /usr/lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
mask=(
    getty@tty1.service serial-getty@ttyS0.service getty.target console-getty.service
    systemd-firstboot.service systemd-hwdb-update.service ldconfig.service
    systemd-random-seed.service systemd-pstore.service systemd-update-utmp.service
    systemd-update-utmp-runlevel.service systemd-journal-catalog-update.service
    systemd-machine-id-commit.service systemd-logind.service
    e2scrub_reap.service e2scrub_all.timer fstrim.timer apt-daily.timer apt-daily-upgrade.timer
    dpkg-db-backup.timer systemd-tmpfiles-clean.timer remote-fs.target
    dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount
    sys-fs-fuse-connections.mount sys-kernel-config.mount
)
for unit in "${mask[@]}"; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
rm -rf "$root"/etc/systemd/system/getty.target.wants "$root"/etc/systemd/system/timers.target.wants
rm -f "$root"/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service \
    "$root"/etc/systemd/system/multi-user.target.wants/remote-fs.target \
    "$root"/etc/systemd/system/sysinit.target.wants/systemd-pstore.service
# The journal stays in memory (/run/log/journal): nothing to flush at boot.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/e2e.conf"

# --- kernel modules: the e2e hardware's drivers and their dependencies ----------------------------
declare -A modpath
while IFS= read -r f; do
    name=${f##*/}
    name=${name%%.ko*}
    modpath[${name//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')
modinfo_depends() { # the depends= of a module file's .modinfo (NUL-separated key=value)
    case $1 in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -qdc "$1" ;;
    *) cat "$1" ;;
    esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}
declare -A seen
add_module() {
    local name=${1//-/_} dep rel
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    [ -n "${modpath[$name]:-}" ] || die "module '$name' not in $moddir"
    rel=${modpath[$name]#"$kdir"/}
    mkdir -p "$root/$(dirname "$rel")"
    cp "${modpath[$name]}" "$root/$rel"
    for dep in $(modinfo_depends "${modpath[$name]}"); do add_module "$dep"; done
}
for m in igb igbvf vfio_pci vfio_iommu_type1; do add_module "$m"; done
for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ -f "$moddir/$f" ] && cp "$moddir/$f" "$root/lib/modules/$version/"
done
chroot "$root" depmod "$version"

# --- pack -----------------------------------------------------------------------------------------
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-rootfs: $out ($(du -sh "$root" | cut -f1) unpacked; modules: ${!seen[*]})" >&2
