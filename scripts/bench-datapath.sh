#!/usr/bin/env bash
# Frame rates through the emulated data path, side by side: a VF the tool made, the PF, and
# virtio-net, each driven by DPDK's testpmd (txonly, 64 and 1500 bytes a frame) in one QEMU guest
# (tests/e2e/scenarios/bench-datapath.sh).
#
#   scripts/bench-datapath.sh
#
# UNDER TCG THESE ARE EMULATION SPEEDS: they show that each path carries frames, not what SR-IOV
# does for performance. On real hardware measure between two VMs (tests/e2e/README.md, "Numbers").
# Needs what tests/e2e/setup.sh installs (QEMU, the kernel, the DPDK layer); builds the static
# binary unless HARVESTER_SRIOV_STATIC_BIN names one. Exit code: the guest's (0 when every run
# printed its rate).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
layer="$repo/tests/e2e/cache/dpdk-rootfs.cpio"
[ -s "$layer" ] || { echo "bench-datapath: no DPDK layer ($layer): run 'sudo bash tests/e2e/setup.sh'" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
E2E_INITRD_EXTRA="$layer" E2E_MEM=1024 E2E_TIMEOUT=${E2E_TIMEOUT:-300} \
    bash "$repo/tests/e2e/run.sh" bench-datapath >"$out" || rc=$?
grep -E '^(FAIL|e2e:)' "$out" >&2 || true
echo "dpdk-testpmd txonly, QEMU $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}') TCG, $(nproc) host cores (load $(cut -d' ' -f1 /proc/loadavg))"
awk '/^bench: / {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        key = v["port"]; if (!(key in pmd)) { order[++n] = key; pmd[key] = v["pmd"] }
        pps[key, v["size"]] = v["pps"]
    }
    END {
        printf "%-11s %-17s %14s %12s %14s %12s\n", "port", "PMD", "64 B frames/s", "64 B Mbit/s", "1500 B frames/s", "1500 B Mbit/s"
        for (i = 1; i <= n; i++) {
            k = order[i]
            printf "%-11s %-17s %14d %12.1f %14d %12.1f\n", k, pmd[k], pps[k, 64], pps[k, 64] * 64 * 8 / 1e6,
                pps[k, 1500], pps[k, 1500] * 1500 * 8 / 1e6
        }
    }' "$out"
echo "Mbit/s = frames/s x frame bytes (without FCS) x 8. Emulation speeds under TCG: function, not SR-IOV performance."
exit "$rc"
