#!/usr/bin/env bash
# Boot the systemd e2e guest: a Debian bookworm root file system (systemd, udev, kmod; built by
# setup.sh) on the same kernel and hardware as run.sh (q35, intel-iommu, one Intel 82576), with the
# tool's files laid out as a Harvester node has them at boot:
#   1. on the host, the static binary's `apply` runs with systemd/config.yaml (or
#      $E2E_SYSTEMD_CONFIG) against samples/sysfs/qemu-igb-2vfs (a snapshot of this guest's 82576)
#      into the guest's root; the hand-off it planned (state.json's `operator`) is the report's
#      mode, in the guest's /usr/local/lib/e2e/mode;
#   2. in the guest, /init runs the real yip binary (`yip -s initramfs /oem`, as Elemental's
#      initrd unit does) and execs systemd;
#   3. stand-in rke2-server/rke2-agent units record sriov_numvfs when they start, and
#      e2e-report.service prints the checks (systemd/guest/report.sh) and powers off.
#
#   tests/e2e/run-systemd.sh [QEMU OPTIONS...]
#
# Output and exit code as run.sh (it does the boot): stdout is the guest console from /init's boot
# marker to the report's result marker (systemd's status lines included), stderr has progress and
# timings. Environment, besides run.sh's (E2E_TIMEOUT, E2E_CONSOLE, E2E_VERBOSE):
#   HARVESTER_SRIOV_STATIC_BIN  the static binary (default: built by scripts/build-static.sh)
#   E2E_SYSTEMD_CONFIG          the install config `apply` runs with (default systemd/config.yaml,
#                               operator sriov-network-operator; systemd/config-pcidevices.yaml is
#                               the default hand-off, pcidevices)
#   E2E_OEM_FILES               "HOST:GUEST ..." files copied into the guest root after `apply`
#                               (development only: e.g. a hand-written yip file over the tool's)
#   E2E_SYSTEMD_APPEND          more kernel arguments (e.g. loglevel=7 to see the kernel's messages)
#   E2E_SYSTEMD_ROOTFS          the base root file system (default cache/systemd-rootfs.cpio; the
#                               one with NetworkManager: cache/systemd-nm-rootfs.cpio, setup.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="$here/cache"
sd="$here/systemd"

log() { echo "e2e-systemd: $*" >&2; }
die() { echo "e2e-systemd: error: $*" >&2; exit 2; }

setup="run 'bash tests/e2e/setup.sh' as root"
base=${E2E_SYSTEMD_ROOTFS:-$cache/systemd-rootfs.cpio}
[ -s "$base" ] || die "no Debian root file system $base (E2E_SYSTEMD_ROOTFS, default systemd-rootfs.cpio in $cache): $setup"
[ -x "$cache/yip" ] || die "no yip binary in $cache: $setup"
command -v cpio >/dev/null 2>&1 || die "cpio not found: $setup"

bin=${HARVESTER_SRIOV_STATIC_BIN:-}
if [ -z "$bin" ]; then
    log "building the static binary (scripts/build-static.sh)"
    bin=$(bash "$repo/scripts/build-static.sh")
fi
[ -x "$bin" ] || die "static binary '$bin' not found"
config=${E2E_SYSTEMD_CONFIG:-$sd/config.yaml}
[ -f "$config" ] || die "install config '$config' (E2E_SYSTEMD_CONFIG) not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -m 0755 "$root"

# --- 1. the tool's files, as `apply` writes them into the installed system ------------------------
log "apply --config $config"
"$bin" apply --config "$config" --sysfs "$repo/samples/sysfs/qemu-igb-2vfs" --target "$root" \
    >"$work/apply.log" 2>&1 || { cat "$work/apply.log" >&2; die "apply failed"; }
sed 's/^/e2e-systemd: apply: /' "$work/apply.log" >&2
# The report's mode: the hand-off `apply` planned, as its state says (what the guest's files are).
mode=$(sed -n 's/^  "operator": "\([^"]*\)",$/\1/p' "$root/oem/harvester-sriov/state.json" 2>/dev/null)
case "$mode" in
sriov-network-operator | pcidevices) log "mode (the state's operator): $mode" ;;
*) die "no report mode for operator '$mode' (state.json of $config): the report knows sriov-network-operator and pcidevices" ;;
esac
for pair in ${E2E_OEM_FILES:-}; do
    src=${pair%%:*} dst=${pair#*:}
    [ -f "$src" ] && [ "${dst#/}" != "$dst" ] || die "E2E_OEM_FILES entry '$pair' is not HOST_FILE:/GUEST_PATH"
    log "development override: $src -> $dst"
    install -D -m 0600 "$src" "$root$dst"
done

# --- 2. the guest's own pieces --------------------------------------------------------------------
install -m 0755 "$sd/guest/init" "$root/init"
install -D -m 0755 "$cache/yip" "$root/usr/local/bin/yip"
install -D -m 0755 "$sd/guest/report.sh" "$root/usr/local/lib/e2e/report.sh"
echo "$mode" >"$root/usr/local/lib/e2e/mode"
install -D -m 0755 "$sd/guest/rke2-standin" "$root/usr/local/lib/e2e/rke2-standin"
install -D -m 0644 "$here/guest/e2e.sh" "$root/usr/local/lib/e2e/e2e.sh"
units="$root/etc/systemd/system"
mkdir -p "$units/multi-user.target.wants"
for f in "$sd"/guest/units/*.service; do
    install -m 0644 "$f" "$units/${f##*/}"
    ln -s "../${f##*/}" "$units/multi-user.target.wants/${f##*/}"
done
# Every directory of the overlay replaces the mode of the same directory of the base: 0755 all.
find "$root" -type d -exec chmod 0755 {} +

# --- 3. one initramfs: the cached base, then this run's files (cpio archives concatenated) --------
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) \
    >"$work/overlay.cpio"
cp "$base" "$work/initrd.cpio"
# Each archive must start 4-byte aligned or the kernel ignores it (cpio pads to 512 already).
pad=$(($(stat -c %s "$work/initrd.cpio") % 4))
[ "$pad" = 0 ] || head -c $((4 - pad)) /dev/zero >>"$work/initrd.cpio"
cat "$work/overlay.cpio" >>"$work/initrd.cpio"
log "initramfs: $(($(stat -c %s "$work/initrd.cpio") / 1048576)) MiB (base $(($(stat -c %s "$base") / 1048576)), this run $(($(stat -c %s "$work/overlay.cpio") / 1048576)))"

# net.ifnames=0: the interface names of the sysfs snapshot `apply` planned with (eth0).
rc=0
E2E_INITRD="$work/initrd.cpio" E2E_MEM=1024 E2E_APPEND="net.ifnames=0${E2E_SYSTEMD_APPEND:+ $E2E_SYSTEMD_APPEND}" \
    bash "$here/run.sh" "$sd/guest/report.sh" "$@" || rc=$?
exit "$rc"
