# Issue 5, scenario 1 (negative control): on `-machine pc` the igb sits on a conventional PCI
# bus with only 256 bytes of config space, so there is no SR-IOV capability: detect exits 1 and
# says why.
# e2e-qemu: -machine pc -device igb

pf=$(pci_find 0x8086 0x10c9)
expect_eq "82576 on the PCI bus" "$(echo "$pf" | grep -c .)" 1
sys=/sys/bus/pci/devices/$pf
expect_eq "config space size" "$(wc -c <"$sys/config" | tr -d ' ')" 256
check "no sriov_totalvfs in sysfs" test ! -e "$sys/sriov_totalvfs"

run_cmd out harvester-sriov detect
echo "--- detect (table, exit $out_rc) ---"
echo "$out"
expect_eq "detect exit code" "$out_rc" 1
expect_contains "detect output" "$out" "no SR-IOV capable PCI function found"
run_cmd js harvester-sriov detect --format json
echo "--- detect --format json (exit $js_rc) ---"
echo "$js"
expect_eq "detect --format json exit code" "$js_rc" 1
run_cmd all harvester-sriov detect --all
echo "--- detect --all (exit $all_rc) ---"
echo "$all"
expect_contains "detect --all" "$all" "$pf"
