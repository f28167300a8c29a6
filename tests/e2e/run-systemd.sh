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
#   E2E_SYSTEMD_IMAGE           a directory laid over the base as part of the OS image (its
#                               os-release, a .link file, its list of persistent paths: the
#                               upgrade boots' images, systemd/image-a and systemd/image-b)
#   E2E_SYSTEMD_DISKS           a directory with the node's two disks, oem.img (ext4, label COS_OEM,
#                               50 MiB as Harvester's OEM partition) and persistent.img (COS_PERSISTENT):
#                               when missing they are made (mkfs.ext4 -d) with `apply`'s /oem on
#                               the first and an empty second, as an install leaves them; when
#                               present `apply` does not run (the node is installed) and the boot
#                               uses them as they are. The guest's /init mounts them as elemental
#                               does (systemd/guest/init); the image must list its persistent
#                               paths (usr/local/lib/e2e/persistent-paths, E2E_SYSTEMD_IMAGE).
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

image=${E2E_SYSTEMD_IMAGE:-}
[ -z "$image" ] || [ -d "$image" ] || die "image directory '$image' (E2E_SYSTEMD_IMAGE) not found"
disks=${E2E_SYSTEMD_DISKS:-}
if [ -n "$disks" ]; then
    [ -d "$disks" ] || die "disk directory '$disks' (E2E_SYSTEMD_DISKS) not found"
    command -v mkfs.ext4 >/dev/null 2>&1 && command -v debugfs >/dev/null 2>&1 ||
        die "mkfs.ext4 and debugfs (e2fsprogs) not found: $setup"
    [ -n "$image" ] && [ -f "$image/usr/local/lib/e2e/persistent-paths" ] ||
        die "E2E_SYSTEMD_DISKS needs an image with usr/local/lib/e2e/persistent-paths (E2E_SYSTEMD_IMAGE)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -m 0755 "$root"

# --- 1. the tool's files, as `apply` writes them into the installed system ------------------------
# With the node's disks already there, the node is installed: its /oem is on oem.img.
installed=
[ -n "$disks" ] && [ -f "$disks/oem.img" ] && installed=1
if [ -z "$installed" ]; then
    log "apply --config $config"
    "$bin" apply --config "$config" --sysfs "$repo/samples/sysfs/qemu-igb-2vfs" --target "$root" \
        >"$work/apply.log" 2>&1 || { cat "$work/apply.log" >&2; die "apply failed"; }
    sed 's/^/e2e-systemd: apply: /' "$work/apply.log" >&2
    state_json=$(cat "$root/oem/harvester-sriov/state.json" 2>/dev/null || true)
else
    log "the node's disks are in $disks (installed by an earlier run): apply does not run, /oem is oem.img's"
    state_json=$(debugfs -R 'cat /harvester-sriov/state.json' "$disks/oem.img" 2>/dev/null || true)
fi
# The report's mode: the hand-off `apply` planned, as its state says (what the guest's files are).
mode=$(echo "$state_json" | sed -n 's/^  "operator": "\([^"]*\)",$/\1/p')
case "$mode" in
sriov-network-operator | pcidevices) log "mode (the state's operator): $mode" ;;
*) die "no report mode for operator '$mode' (state.json of $config): the report knows sriov-network-operator and pcidevices" ;;
esac
for pair in ${E2E_OEM_FILES:-}; do
    src=${pair%%:*} dst=${pair#*:}
    [ -f "$src" ] && [ "${dst#/}" != "$dst" ] || die "E2E_OEM_FILES entry '$pair' is not HOST_FILE:/GUEST_PATH"
    [ -n "$installed" ] && [ "${dst#/oem/}" != "$dst" ] &&
        die "E2E_OEM_FILES entry '$pair': /oem is on $disks/oem.img, made by an earlier run"
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
# The OS image's own files (E2E_SYSTEMD_IMAGE): what makes image A or image B.
if [ -n "$image" ]; then
    log "the OS image's files: $image"
    cp -R --no-preserve=ownership "$image/." "$root/"
fi
# Every directory of the overlay replaces the mode of the same directory of the base: 0755 all.
find "$root" -type d -exec chmod 0755 {} +

# --- 2b. the node's disks (E2E_SYSTEMD_DISKS): /oem and the persistent state outlive the boot ------
qemu_disks=()
append=
if [ -n "$disks" ]; then
    if [ -z "$installed" ]; then
        # As an install leaves them: apply's /oem on OEM (50 MiB, as Harvester's), an empty
        # persistent partition. Made here, by the host, with mkfs.ext4 -d (no root needed).
        mv "$root/oem" "$work/oem"
        mkdir -m 0755 "$root/oem" "$work/persistent"
        mkfs.ext4 -q -F -L COS_OEM -d "$work/oem" "$disks/oem.img" 50M >&2
        mkfs.ext4 -q -F -L COS_PERSISTENT -d "$work/persistent" "$disks/persistent.img" 128M >&2
        log "made the node's disks in $disks: oem.img (apply's /oem), persistent.img (empty)"
    fi
    # The modules the guest's /init loads to mount them, in dependency order (the base image
    # has only the e2e hardware's modules in its index).
    version=$(cat "$cache/kernel.version")
    kmods="$cache/kernel/lib/modules/$version/kernel"
    declare -A seen=()
    add_module() {
        local name=${1//-/_} f dep
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        f=$(find "$kmods" -name "$name.ko" -o -name "${name//_/-}.ko" | head -n1)
        [ -n "$f" ] || die "module $name not found under $kmods (the disks need virtio-blk and ext4)"
        for dep in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '); do
            add_module "$dep"
        done
        install -D -m 0644 "$f" "$root/usr/local/lib/e2e/modules/${f##*/}"
        echo "/usr/local/lib/e2e/modules/${f##*/}" >>"$root/usr/local/lib/e2e/disk-modules"
    }
    for m in crc32c_generic virtio_pci virtio_blk ext4; do add_module "$m"; done
    # A failed boot must not leave the disks half-changed for the automatic retry (run.sh).
    cp --sparse=always "$disks/oem.img" "$work/oem.img.before"
    cp --sparse=always "$disks/persistent.img" "$work/persistent.img.before"
    export E2E_RETRY_RESTORE="$work/oem.img.before:$disks/oem.img $work/persistent.img.before:$disks/persistent.img"
    qemu_disks=(
        -drive "file=$disks/oem.img,format=raw,if=none,id=oem" -device virtio-blk-pci,drive=oem
        -drive "file=$disks/persistent.img,format=raw,if=none,id=persistent" -device virtio-blk-pci,drive=persistent
    )
    append=" e2e.disks"
fi

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
E2E_INITRD="$work/initrd.cpio" E2E_MEM=1024 E2E_APPEND="net.ifnames=0$append${E2E_SYSTEMD_APPEND:+ $E2E_SYSTEMD_APPEND}" \
    bash "$here/run.sh" "$sd/guest/report.sh" "${qemu_disks[@]}" "$@" || rc=$?
exit "$rc"
