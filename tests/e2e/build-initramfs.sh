#!/usr/bin/env bash
# Build the guest initramfs: busybox-static, the kernel modules the scenarios need (decompressed,
# loaded by insmod in dependency order), the project's static binary, a scenario script, a helper
# library and an /init that runs the scenario and reports its exit code on the serial console.
#
#   build-initramfs.sh BINARY SCENARIO OUTPUT.cpio.gz
#
# The kernel is the one unpacked by setup.sh in tests/e2e/cache/kernel/.
# Guest layout (the interface for scenario scripts, see README.md):
#   /bin/harvester-sriov   the static binary under test (also on PATH)
#   /bin/*                 busybox applets (sh, grep, sed, awk, cat, ls, readlink, ...)
#   /scenario.sh           the scenario, run as `sh /scenario.sh`
#   /lib/e2e.sh            helpers, sourced by /init before the scenario
#   (E2E_FILES)            extra files, "HOST:GUEST" pairs separated by spaces
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="$here/cache"

[ $# -eq 3 ] || { echo "usage: $0 BINARY SCENARIO OUTPUT.cpio.gz" >&2; exit 2; }
bin=$1 scenario=$2 out=$3
die() { echo "build-initramfs: error: $*" >&2; exit 2; }
[ -x "$bin" ] || die "binary '$bin' is not an executable file"
[ -f "$scenario" ] || die "scenario '$scenario' not found"
[ -s "$cache/kernel.version" ] || die "no kernel in $cache: run 'bash $here/setup.sh' first"
version=$(cat "$cache/kernel.version")
moddir="$cache/kernel/lib/modules/$version"
[ -d "$moddir" ] || die "missing $moddir: run 'bash $here/setup.sh'"
busybox=/bin/busybox
file -L "$busybox" | grep -E 'statically linked|static-pie' >/dev/null ||
    die "$busybox is not static: install busybox-static (run setup.sh)"

# Modules wanted by name; their dependencies are added automatically.
# igbvf gives the 82576's VFs their netdevs (as on a real host, sriov_drivers_autoprobe=1).
# bridge: the spoof-check proof sends frames with another source MAC through a VF (datapath-vf-settings).
wanted=(igb igbvf nvme vfio_pci vfio_iommu_type1 bridge)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,lib/modules,etc}

# --- modules: index by name (dashes and underscores are the same), resolve depends= ------------
declare -A modpath
while IFS= read -r f; do
    name=${f##*/}
    name=${name%%.ko*}
    modpath[${name//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')

decompressed() { # FILE -> path of an uncompressed copy in $work/ko/
    local f=$1 base
    base=${f##*/}
    base=${base%%.ko*}.ko
    mkdir -p "$work/ko"
    if [ ! -f "$work/ko/$base" ]; then
        case $f in
        *.ko.xz) xz -dc "$f" >"$work/ko/$base" ;;
        *.ko.zst) zstd -qdc "$f" >"$work/ko/$base" ;;
        *.ko.gz) gzip -dc "$f" >"$work/ko/$base" ;;
        *) cp "$f" "$work/ko/$base" ;;
        esac
    fi
    echo "$work/ko/$base"
}

# The depends= entry of the module's .modinfo section (NUL-separated key=value strings).
depends_of() {
    tr '\0' '\n' <"$(decompressed "$1")" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}

declare -A visited
order=()
visit() { # post-order DFS: dependencies first
    local name=${1//-/_} dep
    [ -n "${visited[$name]:-}" ] && return 0
    visited[$name]=1
    [ -n "${modpath[$name]:-}" ] || die "module '$name' not found in $moddir (built in? then drop it from 'wanted')"
    for dep in $(depends_of "${modpath[$name]}"); do
        visit "$dep"
    done
    order+=("$name")
}
for m in "${wanted[@]}"; do visit "$m"; done

: >"$root/etc/modules"
for name in "${order[@]}"; do
    cp "$(decompressed "${modpath[$name]}")" "$root/lib/modules/$name.ko"
    echo "$name" >>"$root/etc/modules"
done
echo "$version" >"$root/etc/kernel-version"

# --- busybox, binary, scenario --------------------------------------------------------------
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh" # /init installs the other applet links at boot
cp "$bin" "$root/bin/harvester-sriov"
chmod 0755 "$root/bin/harvester-sriov"
cp "$scenario" "$root/scenario.sh"
cp "$here/guest/e2e.sh" "$root/lib/e2e.sh"
cp "$here/guest/init" "$root/init"
chmod 0755 "$root/init"

# Extra files for the scenario: E2E_FILES="HOST:GUEST ..." (e.g. a state file a previous boot
# printed, for a scenario spanning two boots with different hardware).
for pair in ${E2E_FILES:-}; do
    src=${pair%%:*} dst=${pair#*:}
    [ -f "$src" ] && [ "${dst#/}" != "$dst" ] || die "E2E_FILES entry '$pair' is not HOST_FILE:/GUEST_PATH"
    mkdir -p "$root$(dirname "$dst")"
    cp "$src" "$root$dst"
done

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-initramfs: $out (kernel $version, modules: ${order[*]})" >&2
