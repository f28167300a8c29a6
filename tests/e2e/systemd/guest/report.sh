#!/bin/bash
# The checks of the systemd e2e guest, run by e2e-report.service once multi-user.target is up:
# what yip's initramfs stage did, the harvester-sriov.service unit it wrote and enabled, the VFs,
# what the rke2 stand-ins found when they started, and the timing. Prints `ok:`/`FAIL:` lines
# (helpers of tests/e2e/guest/e2e.sh), `== NAME ==` sections, then the result marker, and powers
# off. The hardware of this guest (read by tests/e2e/run.sh):
# e2e-qemu: -machine q35 -device intel-iommu,intremap=off
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1
. /usr/local/lib/e2e/e2e.sh

export SYSTEMD_COLORS=0 SYSTEMD_PAGER=
unit=harvester-sriov.service
prop() { systemctl show -P "$2" "$1"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) / 1000 }'; }

echo "e2e-report: multi-user.target reached (uptime $(cut -d' ' -f1 /proc/uptime))"

section yip-initramfs
cat /run/e2e/yip-initramfs.log
expect_eq "yip initramfs stage exit code" "$(cat /run/e2e/yip-initramfs.rc)" 0
yip_rc=$(cat /run/e2e/yip-initramfs.rc)

section unit
check "/etc/systemd/system/$unit exists (written by yip)" test -f /etc/systemd/system/$unit
cat /etc/systemd/system/$unit 2>/dev/null
expect_eq "$unit enabled" "$(systemctl is-enabled $unit 2>&1)" enabled
for u in $unit rke2-server.service rke2-agent.service elemental-setup-boot.service; do
    echo "--- $u"
    systemctl show -p LoadState,ActiveState,Result,ExecMainStatus,UnitFileState,After,Before \
        -p ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic "$u"
done
expect_eq "$unit LoadState" "$(prop $unit LoadState)" loaded
expect_eq "$unit ActiveState" "$(prop $unit ActiveState)" active
expect_eq "$unit Result" "$(prop $unit Result)" success
expect_eq "$unit ExecMainStatus" "$(prop $unit ExecMainStatus)" 0
for r in rke2-server.service rke2-agent.service; do
    case " $(prop $unit Before) " in
    *" $r "*) pass "$unit is ordered Before=$r" ;;
    *) fail "$unit is not ordered Before=$r: Before=$(prop $unit Before)" ;;
    esac
done

section journal
journalctl -b -o short-monotonic --no-pager -u $unit -u elemental-setup-boot.service \
    -u rke2-server.service -u rke2-agent.service | grep -v '^-- '

section kernel
# The PF's driver and the VFs as the kernel logged them (printk clock, seconds since boot).
dmesg | grep -E ' (igb|igbvf|vfio-pci) [0-9a-f]{4}:| pci 0000:01:1[0-9a-f]\.[0-7]: \[' || true

section vfs
pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
echo "pf: $pf ($(ls "$sys/net" 2>/dev/null))"
expect_eq "sriov_numvfs" "$(cat "$sys/sriov_numvfs")" 4
for i in 0 1 2 3; do
    expect_eq "virtfn$i driver" "$(basename "$(readlink "$sys/virtfn$i/driver")")" vfio-pci
done
check "no virtfn4" test ! -e "$sys/virtfn4"

section rke2
cat /run/e2e/rke2.log 2>/dev/null
hs_start=$(prop $unit ExecMainStartTimestampMonotonic)
hs_exit=$(prop $unit ExecMainExitTimestampMonotonic)
for r in rke2-server rke2-agent; do
    line=$(grep "^$r started:" /run/e2e/rke2.log 2>/dev/null | head -n1)
    numvfs=$(echo "$line" | sed -n 's/.* sriov_numvfs=\([^ ]*\).*/\1/p')
    expect_eq "$r saw sriov_numvfs" "$numvfs" 4
    expect_eq "$r saw virtfns" "$(echo "$line" | sed -n 's/.* virtfns=\([^ ]*\).*/\1/p')" 4
    r_start=$(prop $r.service ExecMainStartTimestampMonotonic)
    if [ "${hs_exit:-0}" -gt 0 ] && [ "${r_start:-0}" -ge "$hs_exit" ]; then
        pass "$unit finished before $r started ($(ms "$hs_exit" "$r_start") ms earlier)"
    else
        fail "$unit finished before $r started: $unit exit at ${hs_exit:-?} us, $r start at ${r_start:-?} us (monotonic)"
    fi
done

section timing
# The tool's own line for the PF, as journald stamped it (monotonic, same clock as the unit's).
vf_ts=$(journalctl -b -o json --no-pager -u $unit | grep '"MESSAGE":"[^"]*: 4 VFs' |
    sed -n 's/.*"__MONOTONIC_TIMESTAMP":"\([0-9]*\)".*/\1/p' | head -n1)
if [ -n "$hs_start" ] && [ "$hs_start" -gt 0 ]; then
    echo "timing: kernel start -> $unit start: $(ms 0 "$hs_start") ms"
    [ -n "$vf_ts" ] && echo "timing: $unit start -> VFs present (its '4 VFs' log line): $(ms "$hs_start" "$vf_ts") ms"
    [ -n "$hs_exit" ] && [ "$hs_exit" -gt 0 ] && echo "timing: $unit start -> exit: $(ms "$hs_start" "$hs_exit") ms"
fi
check "the tool logged its 4 VFs in the journal" test -n "$vf_ts"
# The kernel's own lines: igb bound to the PF (end of its probe) and the VFs created, in printk's
# clock. Its offset from CLOCK_MONOTONIC (the unit's timestamps) is measured and printed below.
now_ns() { head -c 256 /proc/timer_list | sed -n 's/^now at \([0-9]*\) nsecs$/\1/p'; }
t1=$(now_ns)
echo "e2e-clock-probe" >/dev/kmsg
t2=$(now_ns)
k_probe=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] e2e-clock-probe$/\1/p' | tail -n1)
[ -n "$t1" ] && [ -n "$t2" ] && [ -n "$k_probe" ] &&
    awk -v a="$t1" -v b="$t2" -v k="$k_probe" 'BEGIN {
        printf "timing: printk clock - CLOCK_MONOTONIC: %.1f ms (the probe took %.1f ms)\n",
            k * 1000 - (a + b) / 2 / 1000000, (b - a) / 1000000 }'
k_bound=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] igb [0-9a-f:.]*: Intel(R) Gigabit Ethernet Network Connection.*/\1/p' | head -n1)
k_vfs=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] igb [0-9a-f:.]*: 4 VFs allocated.*/\1/p' | head -n1)
if [ -n "$k_bound" ] && [ -n "$k_vfs" ] && [ -n "$hs_start" ]; then
    k_bound_us=$(awk -v s="$k_bound" 'BEGIN { printf "%.0f", s * 1000000 }')
    k_vfs_us=$(awk -v s="$k_vfs" 'BEGIN { printf "%.0f", s * 1000000 }')
    echo "timing: $unit start -> kernel '4 VFs allocated': $(ms "$hs_start" "$k_vfs_us") ms"
    echo "timing: igb bound to the PF -> kernel '4 VFs allocated': $(ms "$k_bound_us" "$k_vfs_us") ms"
    echo "timing: $unit start -> igb bound to the PF: $(ms "$hs_start" "$k_bound_us") ms"
fi
for r in rke2-server rke2-agent; do
    echo "timing: kernel start -> $r start: $(ms 0 "$(prop $r.service ExecMainStartTimestampMonotonic)") ms"
done

section verify
run_cmd out /oem/harvester-sriov/harvester-sriov verify
echo "$out"
expect_eq "verify exit code" "$out_rc" 0

echo "e2e-report: done (uptime $(cut -d' ' -f1 /proc/uptime); yip exit $yip_rc)"
if [ "$E2E_FAILS" -gt 0 ]; then
    echo "e2e: $E2E_FAILS check(s) failed"
    echo "--- failed units ---"
    systemctl --no-pager --failed
    rc=1
else
    echo "e2e: all checks passed"
    rc=0
fi
echo "@@E2E-RESULT@@ exit=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
systemctl poweroff --force --force
