# Issue 5, scenario 1: `harvester-sriov detect` on a real kernel finds the emulated Intel 82576
# (igb) PF and agrees with the kernel's own sysfs.
# Hardware: the default of run.sh (q35, intel-iommu, one igb behind a PCIe root port).
# e2e-qemu: -machine q35 -device intel-iommu,intremap=off
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1

pf=$(pci_find 0x8086 0x10c9)
expect_eq "82576 PFs on the PCI bus" "$(echo "$pf" | grep -c .)" 1
sys=/sys/bus/pci/devices/$pf
echo "pf: $pf"

# --- JSON output vs. sysfs ---
harvester-sriov detect --format json >/tmp/detect.json 2>/tmp/detect.err
rc=$?
echo "--- detect --format json (exit $rc) ---"
cat /tmp/detect.json
echo "--- stderr ---"
cat /tmp/detect.err
echo "---"
expect_eq "detect --format json exit code" "$rc" 0
json_flat </tmp/detect.json >/tmp/detect.flat
expect_eq "detected PF address" "$(json_get /tmp/detect.flat devices.0.address)" "$pf"
expect_eq "only one SR-IOV device" "$(json_get /tmp/detect.flat devices.1.address)" ""
expect_eq "capability total_vfs" "$(json_get /tmp/detect.flat devices.0.capability.total_vfs)" 8
expect_eq "kernel total_vfs" "$(json_get /tmp/detect.flat devices.0.kernel.total_vfs)" 7
expect_eq "kernel total_vfs vs sysfs sriov_totalvfs" \
    "$(json_get /tmp/detect.flat devices.0.kernel.total_vfs)" "$(cat "$sys/sriov_totalvfs")"
expect_eq "kernel num_vfs vs sysfs sriov_numvfs" \
    "$(json_get /tmp/detect.flat devices.0.kernel.num_vfs)" "$(cat "$sys/sriov_numvfs")"
expect_eq "vf_device_id vs sysfs sriov_vf_device" \
    "$(json_get /tmp/detect.flat devices.0.kernel.vf_device_id)" "$(cat "$sys/sriov_vf_device")"
expect_eq "capability vf_device_id" "$(json_get /tmp/detect.flat devices.0.capability.vf_device_id)" 10ca
expect_eq "vf_offset vs sysfs sriov_offset" \
    "$(json_get /tmp/detect.flat devices.0.kernel.vf_offset)" "$(cat "$sys/sriov_offset")"
expect_eq "vf_stride vs sysfs sriov_stride" \
    "$(json_get /tmp/detect.flat devices.0.kernel.vf_stride)" "$(cat "$sys/sriov_stride")"
expect_eq "driver" "$(json_get /tmp/detect.flat devices.0.driver)" igb
expect_eq "driver vs sysfs driver link" \
    "$(json_get /tmp/detect.flat devices.0.driver)" "$(basename "$(readlink "$sys/driver")")"
iface=$(ls "$sys/net")
check "the PF has a netdev in sysfs ($iface)" test -n "$iface"
expect_eq "interface vs sysfs net/" "$(json_get /tmp/detect.flat devices.0.interfaces.0)" "$iface"
expect_eq "iommu_group vs sysfs" \
    "$(json_get /tmp/detect.flat devices.0.iommu_group)" "$(basename "$(readlink "$sys/iommu_group")")"

# --- table output ---
run_cmd table harvester-sriov detect
echo "--- detect (table, exit $table_rc) ---"
echo "$table"
expect_eq "detect (table) exit code" "$table_rc" 0
expect_contains "table" "$table" "$pf"
expect_contains "table" "$table" "0/7/8"

# --- --all lists every PCI function, the host bridge too ---
run_cmd all harvester-sriov detect --all --format json
expect_eq "detect --all exit code" "$all_rc" 0
expect_contains "detect --all" "$all" '"address": "0000:00:00.0"'

# --- the kernel's view without a driver: sriov_totalvfs is the capability's 8 again ---
echo "$pf" >"$sys/driver/unbind"
expect_eq "sysfs sriov_totalvfs with no driver" "$(cat "$sys/sriov_totalvfs")" 8
harvester-sriov detect --format json 2>/dev/null | json_flat >/tmp/unbound.flat
expect_eq "unbound: kernel total_vfs" "$(json_get /tmp/unbound.flat devices.0.kernel.total_vfs)" 8
expect_eq "unbound: driver" "$(json_get /tmp/unbound.flat devices.0.driver)" null
echo "$pf" >/sys/bus/pci/drivers/igb/bind
expect_eq "sysfs sriov_totalvfs after rebinding igb" "$(cat "$sys/sriov_totalvfs")" 7
