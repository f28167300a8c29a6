# apply + boot + verify on a real kernel, one 82576 (igb: capability 8 VFs, driver 7).
# Sections (`== NAME ==`) are asserted by separate tests in tests/integration/e2e.rs:
# create 4, change 4 -> 2 (0 first), same count, count 8 refused, identity mismatch,
# verify, vfio-pci binding, PF driver unbound. One boot for all: each boot costs 10-30 s.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=off
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
iface=$(ls "$sys/net" 2>/dev/null | head -n1)
echo "pf: $pf iface: $iface"
T=/tmp/target
state=$T/oem/harvester-sriov/state.yaml
mkdir -p $T /tmp/empty # apply wants an existing target root (the mounted install)

# config NUM DEVICE_TYPE [EXTRA SRIOV LINES]: an install config in /tmp/config.yaml
config() {
    cat >/tmp/config.yaml <<CFG
os:
  hostname: e2e-node
sriov:
  enabled: true
  num_vfs: $1
  device_type: $2
  operator: none
$3
CFG
}
numvfs() { cat "$sys/sriov_numvfs"; }
vf_driver() { basename "$(readlink "$sys/virtfn$1/driver" 2>/dev/null)"; }

section create-4
config 4 netdevice
run_cmd out harvester-sriov apply --config /tmp/config.yaml --sysfs /sys --target $T
echo "$out"
expect_eq "apply exit code" "$out_rc" 0
check "state file written" test -s "$state"
grep -E '^ *(- )?(address|num_vfs|mac|serial):' "$state"
run_cmd out harvester-sriov boot --sysfs /sys --state "$state"
echo "$out"
expect_eq "boot exit code" "$out_rc" 0
expect_contains "boot log" "$out" "$pf ($iface): 4 VFs (was 0: wrote 4)"
expect_eq "sriov_numvfs" "$(numvfs)" 4
for i in 0 1 2 3; do
    check "virtfn$i exists" test -L "$sys/virtfn$i"
    expect_eq "virtfn$i device" "$(cat "$sys/virtfn$i/device")" 0x10ca
done
check "no virtfn4" test ! -e "$sys/virtfn4"

section verify-ok
run_cmd out harvester-sriov verify --sysfs /sys --target $T
echo "$out"
expect_eq "verify exit code" "$out_rc" 0
expect_eq "verify prints one line" "$(echo "$out" | grep -c .)" 1
expect_contains "verify summary" "$out" "verify: node e2e-node as planned: 1 PFs, 4 VFs (netdevice)"

section change-to-2
config 2 netdevice
run_cmd out harvester-sriov apply --config /tmp/config.yaml --sysfs /sys --target $T
expect_eq "apply exit code" "$out_rc" 0
run_cmd out harvester-sriov boot --sysfs /sys --state "$state"
echo "$out"
expect_eq "boot exit code" "$out_rc" 0
expect_contains "boot log" "$out" "2 VFs (was 4: wrote 0, then 2)"
expect_eq "sriov_numvfs" "$(numvfs)" 2
check "virtfn1 exists" test -L "$sys/virtfn1"
check "no virtfn2" test ! -e "$sys/virtfn2"

section same-count
run_cmd out harvester-sriov boot --sysfs /sys --state "$state"
echo "$out"
expect_eq "boot exit code" "$out_rc" 0
expect_contains "boot log" "$out" "2 VFs, already as planned, nothing written"
expect_eq "sriov_numvfs" "$(numvfs)" 2

section verify-diff
check "manual write 0" sysfs_write 0 "$sys/sriov_numvfs"
check "manual write 1" sysfs_write 1 "$sys/sriov_numvfs"
run_cmd out harvester-sriov verify --sysfs /sys --target $T
echo "$out"
expect_eq "verify exit code" "$out_rc" 1
expect_contains "verify difference" "$out" "$pf ($iface): 1 VFs, 2 planned"
expect_eq "sriov_numvfs untouched by verify" "$(numvfs)" 1

section count-8
config 2 netdevice "  devices:
    - match: {interface: $iface}
      num_vfs: 8"
cat /tmp/config.yaml
run_cmd out harvester-sriov apply --config /tmp/config.yaml --sysfs /sys --target /tmp/empty
echo "$out"
expect_eq "apply exit code" "$out_rc" 2
expect_contains "apply message" "$out" "8 VFs asked for $pf"
expect_contains "apply message" "$out" "at most 7 (sriov_totalvfs)"
expect_eq "target left empty" "$(ls -A /tmp/empty 2>/dev/null | grep -c .)" 0
sed 's/^\( *\)num_vfs: .*/\1num_vfs: 8/' "$state" >/tmp/state8.yaml
grep -E '^ *num_vfs:' /tmp/state8.yaml
run_cmd out harvester-sriov boot --sysfs /sys --state /tmp/state8.yaml
echo "$out"
expect_eq "boot exit code (a PF not as planned)" "$out_rc" 1
expect_contains "boot message" "$out" "refused: 8 VFs planned, but the kernel allows at most 7 (sriov_totalvfs); nothing written"
expect_eq "sriov_numvfs unchanged" "$(numvfs)" 1

section identity
sed -e 's/^\( *\)vendor_id: .*/\1vendor_id: '"'"'15b3'"'"'/' -e 's/^\( *\)device_id: .*/\1device_id: '"'"'1017'"'"'/' "$state" >/tmp/state-other.yaml
grep -E '^ *(vendor_id|device_id):' /tmp/state-other.yaml
run_cmd out harvester-sriov boot --sysfs /sys --state /tmp/state-other.yaml
echo "$out"
expect_eq "boot exit code (a PF not as planned)" "$out_rc" 1
expect_contains "boot message" "$out" "$pf now holds 8086:10c9"
expect_contains "boot message" "$out" "not the planned 15b3:1017"
expect_contains "boot message" "$out" "refusing to touch anything"
expect_eq "sriov_numvfs unchanged" "$(numvfs)" 1

section vfio
config 4 vfio-pci
run_cmd out harvester-sriov apply --config /tmp/config.yaml --sysfs /sys --target $T
expect_eq "apply exit code" "$out_rc" 0
run_cmd out harvester-sriov boot --sysfs /sys --state "$state"
echo "$out"
expect_eq "boot exit code" "$out_rc" 0
expect_contains "boot log" "$out" "4 VFs (was 1: wrote 0, then 4); 4 VFs bound to vfio-pci"
expect_eq "sriov_numvfs" "$(numvfs)" 4
for i in 0 1 2 3; do
    expect_eq "virtfn$i driver" "$(vf_driver $i)" vfio-pci
done
run_cmd out harvester-sriov verify --sysfs /sys --target $T
echo "$out"
expect_eq "verify exit code" "$out_rc" 0
expect_contains "verify summary" "$out" "1 PFs, 4 VFs (vfio-pci)"

section no-driver
check "unbind the PF from igb" sysfs_write "$pf" /sys/bus/pci/drivers/igb/unbind
check "PF has no driver" test ! -e "$sys/driver"
start=$(cut -d' ' -f1 /proc/uptime)
run_cmd out harvester-sriov boot --sysfs /sys --state "$state" --wait 2
took=$(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%d", b - a }')
echo "$out"
echo "boot took ${took}s"
expect_eq "boot exit code (a PF not as planned)" "$out_rc" 1
expect_contains "boot message" "$out" "no driver bound after 2s"
expect_contains "boot message" "$out" "ENOENT"
check "boot returned within 10 s" test "$took" -lt 10
expect_eq "sriov_numvfs with no driver" "$(numvfs)" 0
