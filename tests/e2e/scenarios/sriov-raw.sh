# Raw-kernel sanity (no harvester-sriov writes): what the lead's apply/boot scenarios build on.
# Two 82576 PFs and an NVMe controller with SR-IOV; VFs are created by hand through sysfs, the
# kernel's answers are checked, one VF is bound to vfio-pci, and detect reads the result.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=off
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1
# e2e-qemu: -device pcie-root-port,id=rp2,chassis=2,slot=2 -device igb,bus=rp2
# e2e-qemu: -device pcie-root-port,id=rp3,chassis=3,slot=3 -device nvme-subsys,id=nvs0
# e2e-qemu: -device nvme,bus=rp3,serial=e2e0001,subsys=nvs0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2

pfs=$(pci_find 0x8086 0x10c9)
expect_eq "82576 PFs" "$(echo "$pfs" | grep -c .)" 2
pf=$(echo "$pfs" | head -n1)
pf2=$(echo "$pfs" | tail -n1)
nvme=$(pci_find 0x1b36 0x0010)
sys=/sys/bus/pci/devices/$pf
echo "pf: $pf pf2: $pf2 nvme: $nvme"

# --- igb: 4 VFs by hand ---
expect_eq "sriov_totalvfs" "$(cat "$sys/sriov_totalvfs")" 7
expect_eq "sriov_vf_device" "$(cat "$sys/sriov_vf_device")" 10ca
start=$(cut -d' ' -f1 /proc/uptime)
check "write 4 to sriov_numvfs" sysfs_write 4 "$sys/sriov_numvfs"
echo "enable took $(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }') s"
expect_eq "sriov_numvfs" "$(cat "$sys/sriov_numvfs")" 4
for i in 0 1 2 3; do
    check "virtfn$i exists" test -L "$sys/virtfn$i"
    vf=$(basename "$(readlink "$sys/virtfn$i")")
    expect_eq "virtfn$i device" "$(cat "/sys/bus/pci/devices/$vf/device")" 0x10ca
    expect_eq "virtfn$i physfn" "$(basename "$(readlink "/sys/bus/pci/devices/$vf/physfn")")" "$pf"
done
check "no virtfn4" test ! -e "$sys/virtfn4"
# Routing ID = PF + offset (128) + stride (2) * i: bus 1, device 0x10, functions 0, 2, 4, 6.
expect_eq "virtfn0 address" "$(basename "$(readlink "$sys/virtfn0")")" "${pf%%:*}:01:10.0"
expect_eq "virtfn3 address" "$(basename "$(readlink "$sys/virtfn3")")" "${pf%%:*}:01:10.6"
vf0=$(basename "$(readlink "$sys/virtfn0")")
check "virtfn0 has a netdev (igbvf)" wait_for "$sys/virtfn0/net" 10
echo "virtfn0 netdev: $(ls "$sys/virtfn0/net" 2>/dev/null)"
expect_eq "virtfn0 driver" "$(basename "$(readlink "$sys/virtfn0/driver")")" igbvf

# --- the kernel's errors (facts.md §3) ---
run_cmd err sysfs_write 8 "$sys/sriov_numvfs"
check "8 > sriov_totalvfs is refused" test "$err_rc" != 0
expect_contains "ERANGE message" "$err" "out of range"
run_cmd err sysfs_write 2 "$sys/sriov_numvfs"
check "a different count while enabled is refused" test "$err_rc" != 0
expect_contains "EBUSY message" "$err" "busy"
check "writing the current count again succeeds" sysfs_write 4 "$sys/sriov_numvfs"

# --- a VF on vfio-pci ---
echo vfio-pci >"/sys/bus/pci/devices/$vf0/driver_override"
echo "$vf0" >"/sys/bus/pci/devices/$vf0/driver/unbind"
echo "$vf0" >/sys/bus/pci/drivers_probe
expect_eq "virtfn0 driver after override" "$(basename "$(readlink "$sys/virtfn0/driver")")" vfio-pci
group=$(basename "$(readlink "/sys/bus/pci/devices/$vf0/iommu_group")")
check "/dev/vfio/$group exists" test -c "/dev/vfio/$group"
check "virtfn0 has no netdev on vfio-pci" test ! -e "$sys/virtfn0/net"

# --- NVMe SR-IOV ---
nsys=/sys/bus/pci/devices/$nvme
expect_eq "nvme sriov_totalvfs" "$(cat "$nsys/sriov_totalvfs")" 2
check "nvme: write 2 to sriov_numvfs" sysfs_write 2 "$nsys/sriov_numvfs"
check "nvme virtfn1 exists" test -L "$nsys/virtfn1"

# --- detect sees all of it ---
harvester-sriov detect --format json >/tmp/d.json 2>/dev/null
expect_eq "detect exit code" "$?" 0
json_flat </tmp/d.json >/tmp/d.flat
grep -E '^devices\.[0-9]+\.(address|kernel\.num_vfs|kernel\.total_vfs|status)=' /tmp/d.flat
for i in 0 1 2 3 4 5 6 7 8 9; do
    case "$(json_get /tmp/d.flat "devices.$i.address")" in
    "$pf") expect_eq "detect: $pf num_vfs" "$(json_get /tmp/d.flat "devices.$i.kernel.num_vfs")" 4 ;;
    "$pf2") expect_eq "detect: $pf2 num_vfs" "$(json_get /tmp/d.flat "devices.$i.kernel.num_vfs")" 0 ;;
    "$nvme") expect_eq "detect: $nvme total_vfs" "$(json_get /tmp/d.flat "devices.$i.kernel.total_vfs")" 2 ;;
    esac
done
check "detect lists $pf" grep -qx "devices\.[0-9]*\.address=$pf" /tmp/d.flat
check "detect lists $pf2" grep -qx "devices\.[0-9]*\.address=$pf2" /tmp/d.flat
check "detect lists $nvme" grep -qx "devices\.[0-9]*\.address=$nvme" /tmp/d.flat

# --- back to 0 ---
start=$(cut -d' ' -f1 /proc/uptime)
check "write 0 to sriov_numvfs" sysfs_write 0 "$sys/sriov_numvfs"
echo "disable took $(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }') s"
check "virtfn0 is gone" test ! -e "$sys/virtfn0"
expect_eq "second PF untouched" "$(cat "/sys/bus/pci/devices/$pf2/sriov_numvfs")" 0
