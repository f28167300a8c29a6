# Address shift, boot 1 of 2: two 82576 cards with distinct MACs; apply records a state for the
# one at 0000:01:00.0 only (a rule turns the other off) and prints it between markers. The Rust
# test feeds it to boot 2 (address-shift.sh), where the two cards' slots are swapped.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=off
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1,mac=52:54:00:e2:e2:0a
# e2e-qemu: -device pcie-root-port,id=rp2,chassis=2,slot=2 -device igb,bus=rp2,mac=52:54:00:e2:e2:0b

expect_eq "82576 PFs" "$(pci_find 0x8086 0x10c9 | tr '\n' ' ')" "0000:01:00.0 0000:02:00.0 "
for pf in 0000:01:00.0 0000:02:00.0; do
    echo "$pf: MAC $(cat /sys/bus/pci/devices/$pf/net/*/address)"
done
mkdir -p /tmp/target
cat >/tmp/config.yaml <<CFG
os:
  hostname: e2e-node
sriov:
  enabled: true
  num_vfs: 2
  device_type: netdevice
  operator: none
  devices:
    - match: {address: "0000:02:00.0"}
      enabled: false
CFG
run_cmd out harvester-sriov apply --config /tmp/config.yaml --sysfs /sys --target /tmp/target
echo "$out"
expect_eq "apply exit code" "$out_rc" 0
state=/tmp/target/oem/harvester-sriov/state.yaml
expect_eq "PFs in the state" "$(sed -n '/^pfs:/,/^skipped:/p' "$state" | grep -c '^ *- address:')" 1
check "the state records the MAC of the card at 0000:01:00.0" grep -q 'mac: "52:54:00:e2:e2:0a"' "$state"
echo "--- state.yaml begin ---"
cat "$state"
echo "--- state.yaml end ---"
