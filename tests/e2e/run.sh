#!/usr/bin/env bash
# Boot a real Debian kernel in QEMU (TCG) with emulated SR-IOV hardware and run one scenario.
#
#   tests/e2e/run.sh SCENARIO [QEMU OPTIONS...]
#
# SCENARIO is a shell script (busybox sh) run as PID 1's child in the guest, or the name of one in
# tests/e2e/scenarios/ (with or without .sh). Its hardware comes from its `# e2e-qemu: ARGS` header
# lines (all of them, in order); without any, the default below. QEMU OPTIONS are appended last.
#
# stdout: the scenario's part of the guest console (between the boot and result markers).
# stderr: progress, timings, and on failure the tail of the whole guest console.
# Exit code: the scenario's exit code; 2 = harness setup error; 3 = the guest never reported a
# result (twice: a guest that dies without the marker is retried once).
#
# Environment:
#   HARVESTER_SRIOV_STATIC_BIN  the static binary to test (default: built by scripts/build-static.sh)
#   E2E_TIMEOUT                 seconds per boot attempt (default 150)
#   E2E_CONSOLE                 also copy the full guest console to this file
#   E2E_VERBOSE=1               stream the full guest console to stderr while it runs
#   E2E_FILES                   "HOST:GUEST ..." extra files in the initramfs (build-initramfs.sh)
#   E2E_INITRD                  boot this initramfs instead of building the busybox one (the
#                               systemd guest: run-systemd.sh); SCENARIO then only gives the hardware
#   E2E_INITRD_EXTRA            an uncompressed cpio appended to the busybox initramfs (the
#                               DPDK layer: tests/e2e/dpdk/build-rootfs.sh, cache/dpdk-rootfs.cpio)
#   E2E_APPEND                  more kernel command line arguments
#   E2E_MEM                     guest memory in MiB (default 512)
#   E2E_RETRY_RESTORE           "SAVED:FILE ..." copied over FILE before the retry (a disk the failed
#                               attempt may have changed goes back to how it was: run-systemd.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="$here/cache"

log() { echo "e2e: $*" >&2; }
die() { echo "e2e: error: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $0 SCENARIO [QEMU OPTIONS...]"
scenario=$1
shift
if [ ! -f "$scenario" ]; then
    for c in "$here/scenarios/$scenario" "$here/scenarios/$scenario.sh"; do
        [ -f "$c" ] && scenario=$c && break
    done
fi
[ -f "$scenario" ] || die "scenario '$scenario' not found (nor in $here/scenarios/)"
name=$(basename "$scenario" .sh)

# --- prerequisites (installed by setup.sh) --------------------------------------------------
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    die "qemu-system-x86_64 not found: run 'bash tests/e2e/setup.sh' as root"
[ -s "$cache/kernel.version" ] || die "no kernel in $cache: run 'bash tests/e2e/setup.sh' as root"
version=$(cat "$cache/kernel.version")
kernel="$cache/vmlinux-$version" # uncompressed ELF, PVH boot: no xz decompression under TCG
[ -s "$kernel" ] || kernel="$cache/kernel/boot/vmlinuz-$version"
[ -f "$kernel" ] || die "missing $kernel: run 'bash tests/e2e/setup.sh' as root"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "${E2E_INITRD:-}" ]; then
    [ -f "$E2E_INITRD" ] || die "E2E_INITRD '$E2E_INITRD' not found"
    initrd=$E2E_INITRD
else
    bin=${HARVESTER_SRIOV_STATIC_BIN:-}
    if [ -z "$bin" ]; then
        log "building the static binary (scripts/build-static.sh)"
        bin=$(bash "$repo/scripts/build-static.sh")
    fi
    [ -x "$bin" ] || die "static binary '$bin' not found"
    initrd=$work/initramfs.cpio.gz
    bash "$here/build-initramfs.sh" "$bin" "$scenario" "$initrd" 2>"$work/build.log" ||
        { cat "$work/build.log" >&2; die "building the initramfs failed"; }
    if [ -n "${E2E_INITRD_EXTRA:-}" ]; then
        [ -f "$E2E_INITRD_EXTRA" ] || die "E2E_INITRD_EXTRA '$E2E_INITRD_EXTRA' not found"
        # The kernel unpacks concatenated archives in order; each must start 4-byte aligned.
        pad=$(($(stat -c %s "$initrd") % 4))
        [ "$pad" = 0 ] || head -c $((4 - pad)) /dev/zero >>"$initrd"
        cat "$E2E_INITRD_EXTRA" >>"$initrd"
    fi
fi

# --- hardware -----------------------------------------------------------------------------------
# Default: q35 (PCIe, extended config space), an emulated IOMMU (so VFs can be bound to vfio-pci)
# and one Intel 82576 (igb, SR-IOV with 8 VFs) behind a PCIe root port.
default_hw=(
    -machine q35
    -device intel-iommu,intremap=off
    -device pcie-root-port,id=rp1,chassis=1,slot=1
    -device igb,bus=rp1
)
header=$(sed -n 's/^# e2e-qemu:[[:space:]]*//p' "$scenario" | tr '\n' ' ')
if [ -n "${header// /}" ]; then
    read -r -a hw <<<"$header"
else
    hw=("${default_hw[@]}")
fi

# loglevel=1 keeps kernel messages off the console (the scenario's output stays parseable);
# a failing guest prints its dmesg tail instead.
cmdline="console=ttyS0 loglevel=1 mitigations=off cryptomgr.notests panic=-1 intel_iommu=on${E2E_APPEND:+ $E2E_APPEND}"
qemu=(
    qemu-system-x86_64 -accel tcg -nodefaults -no-user-config -nographic -no-reboot
    -serial stdio -m "${E2E_MEM:-512}" -smp 2
    "${hw[@]}"
    -kernel "$kernel" -initrd "$initrd" -append "$cmdline"
    "$@"
)
timeout=${E2E_TIMEOUT:-150}

# One boot: the console goes to $work/console.log; the host time of the boot marker to $work/booted.
boot() {
    : >"$work/console.log"
    rm -f "$work/booted"
    local start=$EPOCHREALTIME qrc=0
    set +e
    timeout --kill-after=5 "$timeout" "${qemu[@]}" </dev/null 2>&1 |
        while IFS= read -r line; do
            line=${line%$'\r'}
            [[ $line == *@@E2E-BOOTED@@* ]] && echo "$EPOCHREALTIME" >"$work/booted"
            printf '%s\n' "$line" >>"$work/console.log"
            [ "${E2E_VERBOSE:-}" = 1 ] && printf '%s\n' "$line" >&2
        done
    qrc=${PIPESTATUS[0]}
    set -e
    local end=$EPOCHREALTIME
    total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    boot_s=-
    [ -s "$work/booted" ] && boot_s=$(awk -v a="$start" -v b="$(cat "$work/booted")" 'BEGIN { printf "%.1f", b - a }')
    [ -n "${E2E_CONSOLE:-}" ] && cp "$work/console.log" "$E2E_CONSOLE"
    [ "$qrc" = 124 ] && log "$name: QEMU timed out after ${timeout}s"
    return 0
}

result() { # the scenario's exit code from the result marker, empty when missing
    sed -n 's/.*@@E2E-RESULT@@ exit=\([0-9]*\).*/\1/p' "$work/console.log" | tail -n1
}

log "$name: booting kernel $version ($(qemu-system-x86_64 --version | head -n1 | awk '{print $4}'); ${hw[*]} $*)"
boot
rc=$(result)
if [ -z "$rc" ]; then
    log "$name: the guest died without reporting a result (total ${total}s); console tail:"
    tail -n 30 "$work/console.log" >&2
    log "$name: retrying once"
    for pair in ${E2E_RETRY_RESTORE:-}; do
        log "$name: restoring ${pair#*:} as it was before the failed attempt"
        cp --sparse=always "${pair%%:*}" "${pair#*:}"
    done
    boot
    rc=$(result)
fi

# The scenario's own output: between the boot marker and the result marker, minus the markers.
sed -n '/@@E2E-BOOTED@@/,/@@E2E-RESULT@@/p' "$work/console.log" | grep -v '@@E2E-' || true

if [ -z "$rc" ]; then
    log "$name: FAILED: no result marker after a retry (total ${total}s); guest console tail:"
    tail -n 60 "$work/console.log" >&2
    exit 3
fi
log "$name: exit=$rc boot=${boot_s}s total=${total}s"
if [ "$rc" != 0 ]; then
    log "$name: FAILED (exit $rc); guest console tail:"
    tail -n 40 "$work/console.log" >&2
fi
exit "$rc"
