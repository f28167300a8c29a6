# Per-VF settings from the config to the kernel (issue 19), through the tool itself: `apply
# --now` of a config with `vfs:` (a fixed MAC, VLAN 100 + QoS 3 and trust on VF 0; a stable MAC
# and spoof check off on VF 1; spoof check on as the section-wide default) makes 2 netdevice
# VFs on QEMU's igb, sets every setting in one RTM_SETLINK and re-probes igbvf so each VF's
# own netdev takes its MAC. Read back by our decoder (vfproof get) and, not ours, by igbvf's
# netdev address; `verify` agrees. Then another writer recreates the VFs (0, then 2) and `boot`
# puts the settings back; a second `boot` changes nothing.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=on
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1
# e2e-qemu: -netdev user,id=n0,restrict=on
# e2e-qemu: -device igb,bus=rp1,netdev=n0

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
echo "pf: $pf iface: $pf_if"
# igb answers its VFs' mailbox (where igbvf asks for its MAC) only while the PF is up.
ip link set "$pf_if" up

apply_now_config <<CFG
os:
  hostname: e2e-node
sriov:
  enabled: true
  num_vfs: 2
  device_type: netdevice
  operator: none
  vfs:
    - spoof_check: true
  devices:
    - match: {interface: $pf_if}
      vfs:
        - {id: 0, mac_address: "02:00:5e:10:00:20", vlan_id: 100, qos: 3, trust: true}
        - {id: 1, mac_address: stable, spoof_check: false}
CFG

igbvf_macs() {
    for i in 0 1; do
        check "virtfn$i netdev" wait_for "$sys/virtfn$i/net" 30
        vf=$(ls "$sys/virtfn$i/net" | head -n1)
        echo "igbvf: vf=$i address=$(cat /sys/class/net/$vf/address)"
    done
}

igbvf_macs
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex

section detect-json
run_cmd out harvester-sriov detect --format json
expect_eq "detect exit code" "$out_rc" 0
echo "json-begin"
echo "$out"
echo "json-end"

section verify
run_cmd out harvester-sriov verify --target /tmp/target --sysfs /sys
echo "$out"
expect_eq "verify exit code" "$out_rc" 0

section other-writer
sysfs_write 0 "$sys/sriov_numvfs"
sysfs_write 2 "$sys/sriov_numvfs"
run_cmd out harvester-sriov verify --target /tmp/target --sysfs /sys
echo "$out"
expect_eq "verify after the other writer exit code" "$out_rc" 1
run_cmd out harvester-sriov boot --state /tmp/target/oem/harvester-sriov/state.json --sysfs /sys --wait 5
echo "$out"
expect_eq "boot exit code" "$out_rc" 0
igbvf_macs
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex

section again
run_cmd out harvester-sriov boot --state /tmp/target/oem/harvester-sriov/state.json --sysfs /sys --wait 5
echo "$out"
expect_eq "second boot exit code" "$out_rc" 0

# As at a reboot, the PF's driver starts afresh: igb unbound and bound again forgets every VF
# and every per-VF setting. `boot` makes the same VFs with the same MACs (the plan's, derived
# once: stable is the same at every boot).
section driver-reload
sysfs_write 0 "$sys/sriov_numvfs"
sysfs_write "$pf" /sys/bus/pci/drivers/igb/unbind
sysfs_write "$pf" /sys/bus/pci/drivers/igb/bind
check "PF netdev back" wait_for "$sys/net" 10
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
ip link set "$pf_if" up
expect_eq "sriov_numvfs after the reload" "$(cat "$sys/sriov_numvfs")" 0
run_cmd out harvester-sriov boot --state /tmp/target/oem/harvester-sriov/state.json --sysfs /sys --wait 10
echo "$out"
expect_eq "boot after the reload exit code" "$out_rc" 0
igbvf_macs
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex
