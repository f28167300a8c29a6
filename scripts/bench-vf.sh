#!/usr/bin/env bash
# Per-VF settings, side by side (issue 19): MAC, VLAN + QoS, spoof check and trust on every VF of
# one igb PF in one QEMU guest (tests/e2e/scenarios/bench-vf.sh), applied
#   (a) by the library's `Rtnl::set_vfs` (examples/vfproof.rs: the one call `boot` and `vf-added`
#       make per PF, without the state reading, VF creation and read-back around it), and
#   (b) by one iproute2 `ip link set DEV vf N mac … vlan … qos … spoofchk … trust …` per VF,
# each run from the same starting state (every VF reset to a baseline first), alternating which
# side goes first; prints netlink requests (counted by strace in the guest), the median wall time
# of each side, the tool's time inside set_vfs, and the ratio.
#
#   scripts/bench-vf.sh                 BENCH_REPS=7 (runs per side), BENCH_VFS=7 (the 82576's max)
#
# UNDER TCG THESE ARE EMULATION TIMES: process start-up (exec, dynamic loading) dominates `ip`'s
# side; on a real node both sides are faster and the gap is narrower (docs/performance.md).
# Needs what tests/e2e/setup.sh installs (QEMU, the kernel, the iproute2 layer); builds the static
# binaries unless HARVESTER_SRIOV_STATIC_BIN / HARVESTER_SRIOV_VFPROOF_BIN name them. Exit code:
# the guest's (0 when every run of both sides landed every setting), 2 when a setup step fails.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
layer="$repo/tests/e2e/cache/iproute2-rootfs.cpio"
[ -s "$layer" ] || { echo "bench-vf: no iproute2 layer ($layer): run 'sudo bash tests/e2e/setup.sh'" >&2; exit 2; }
reps=${BENCH_REPS:-7} vfs=${BENCH_VFS:-7}
[[ $reps =~ ^[1-9][0-9]?$ ]] || { echo "bench-vf: BENCH_REPS must be 1-99, got '$reps'" >&2; exit 2; }
[[ $vfs =~ ^[1-7]$ ]] || { echo "bench-vf: BENCH_VFS must be 1-7 (the 82576 has 8 VFs, igb offers 7), got '$vfs'" >&2; exit 2; }
vfproof=${HARVESTER_SRIOV_VFPROOF_BIN:-}
[ -n "$vfproof" ] || vfproof=$(bash "$repo/scripts/build-static.sh" --example vfproof)
[ -x "$vfproof" ] || { echo "bench-vf: vfproof binary '$vfproof' not found" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
E2E_FILES="$vfproof:/bin/vfproof" E2E_INITRD_EXTRA="$layer" E2E_APPEND="bench_reps=$reps bench_vfs=$vfs" \
    E2E_TIMEOUT=${E2E_TIMEOUT:-300} bash "$repo/tests/e2e/run.sh" bench-vf >"$out" || rc=$?
grep -E '^(FAIL|bench-error|e2e:)' "$out" >&2 || true
echo "per-VF settings (MAC, VLAN+QoS, spoof check, trust) on $vfs VFs of one igb PF (82576), $reps runs a side;"
echo "QEMU $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}') TCG, $(nproc) host cores (load $(cut -d' ' -f1 /proc/loadavg)); guest: $(sed -n 's/^pf: .*(\(ip utility, [^,]*\).*/\1/p' "$out")"
awk -v vfs="$vfs" '
    function kv(   i, p) { delete v; for (i = 2; i <= NF; i++) { split($i, p, "="); v[p[1]] = p[2] } }
    function median(arr, n,   i, j, t) {
        for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
        return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
    }
    /^bench-startup: / { kv(); floor[++nf] = v["us"] }
    /^bench-requests: / { kv(); req[v["side"]] = v["requests"]; reqok[v["side"]] = v["landed"] }
    /^bench: / {
        kv(); s = v["side"]; k = ++n[s]; wall[s, k] = v["us"]; if (v["landed"] != vfs "/" vfs) bad++
        if (s == "tool") { inproc[++ni] = v["inproc_us"]; rts = rts (rts == "" ? "" : ",") v["round_trips"] }
    }
    END {
        if (!n["tool"] || !n["ip"]) { print "bench-vf: the guest printed no runs (see above)"; exit 1 }
        for (k = 1; k <= n["tool"]; k++) { t[k] = wall["tool", k]; if (k == 1 || t[k] < tmin) tmin = t[k]; if (t[k] > tmax) tmax = t[k] }
        for (k = 1; k <= n["ip"]; k++) { p[k] = wall["ip", k]; if (k == 1 || p[k] < pmin) pmin = p[k]; if (p[k] > pmax) pmax = p[k] }
        mt = median(t, n["tool"]); mp = median(p, n["ip"]); mi = median(inproc, ni); mf = median(floor, nf)
        printf "%-44s %9s %14s %17s\n", "side", "requests", "median ms", "min..max ms"
        printf "%-44s %9s %14.2f %8.2f..%.2f\n", "harvester-sriov Rtnl::set_vfs (1 process)", req["tool"], mt / 1000, tmin / 1000, tmax / 1000
        printf "%-44s %9s %14.2f\n", "  of which inside set_vfs (socket open)", "", mi / 1000
        printf "%-44s %9s %14.2f %8.2f..%.2f\n", "ip link set DEV vf N ... (" vfs " processes)", req["ip"], mp / 1000, pmin / 1000, pmax / 1000
        printf "%-44s %9s %14.2f\n", "  start-up alone (" vfs " x ip -V, no netlink)", 0, mf / 1000
        printf "ratio ip/tool: %.1fx the wall time, %.0fx the netlink requests (set_vfs round trips per run: %s)\n", mp / mt, req["ip"] / req["tool"], rts
        printf "every run landed every setting on every VF: %s\n", bad ? "NO (" bad " runs did not)" : "yes"
        if (bad) exit 1
    }' "$out" || rc=${rc/#0/1}
sed -n 's/^bench-request-types: /netlink requests (strace in the guest), /p' "$out"
echo "Emulation times under TCG: process start-up dominates the ip side; see docs/performance.md."
exit "$rc"
