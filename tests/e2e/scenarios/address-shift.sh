# Address shift, boot 2 of 2: the same two 82576 cards as address-shift-record.sh, slots swapped
# (the card with MAC ...:0a is now at 0000:02:00.0). /state.json is the state boot 1 wrote for
# 0000:01:00.0 (E2E_FILES). boot must follow the card by its MAC and leave the other one alone.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=off
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1,mac=52:54:00:e2:e2:0b
# e2e-qemu: -device pcie-root-port,id=rp2,chassis=2,slot=2 -device igb,bus=rp2,mac=52:54:00:e2:e2:0a

a=/sys/bus/pci/devices/0000:01:00.0
b=/sys/bus/pci/devices/0000:02:00.0
expect_eq "MAC at 0000:01:00.0" "$(cat $a/net/*/address)" 52:54:00:e2:e2:0b
expect_eq "MAC at 0000:02:00.0" "$(cat $b/net/*/address)" 52:54:00:e2:e2:0a
check "the state from boot 1 is here" grep -q '"address": "0000:01:00.0"' /state.json

section unknown-mac
# The same state, but for a card that is not in this machine: refused, and the reason says so.
sed 's/"mac": "52:54:00:e2:e2:0a"/"mac": "52:54:00:e2:e2:99"/' /state.json >/tmp/state-gone.json
run_cmd out harvester-sriov boot --sysfs /sys --state /tmp/state-gone.json
echo "$out"
expect_eq "boot exit code (a PF not as planned)" "$out_rc" 1
expect_contains "boot message" "$out" "0000:01:00.0 holds another 8086:10c9 (Intel Corporation 82576 Gigabit Network Connection) with MAC 52:54:00:e2:e2:0b, not the recorded 52:54:00:e2:e2:99"
expect_contains "boot message" "$out" "no SR-IOV function has MAC 52:54:00:e2:e2:99"
expect_contains "boot message" "$out" "refusing to touch anything"
expect_eq "0000:01:00.0 sriov_numvfs" "$(cat $a/sriov_numvfs)" 0
expect_eq "0000:02:00.0 sriov_numvfs" "$(cat $b/sriov_numvfs)" 0

section moved
run_cmd out harvester-sriov boot --sysfs /sys --state /state.json
echo "$out"
expect_eq "boot exit code" "$out_rc" 0
expect_contains "boot log" "$out" "moved from 0000:01:00.0 to 0000:02:00.0 (same MAC)"
expect_eq "0000:02:00.0 (the recorded card) sriov_numvfs" "$(cat $b/sriov_numvfs)" 2
expect_eq "0000:01:00.0 (the other card) sriov_numvfs" "$(cat $a/sriov_numvfs)" 0
expect_eq "virtfn1 of 0000:02:00.0 device" "$(cat $b/virtfn1/device)" 0x10ca
