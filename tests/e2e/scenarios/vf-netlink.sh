# Per-VF settings through the library's rtnetlink code on a real igb (issue 19), driven by
# examples/vfproof.rs (/bin/vfproof, E2E_FILES): `apply --now` makes 2 VFs; one RTM_SETLINK
# sets MACs on VF 0 and 1, VLAN 100 + QoS 3 and spoof check off on VF 0; spoof check on and
# trust on follow; RTM_GETLINK reads them back (our decoder) and its reply bytes are printed
# (`reply-hex:`, the fixture tests/fixtures/netlink/). A reader that is not ours: igbvf's own
# netdev address after an unbind/bind. What igb refuses: link_state (no
# ndo_set_vf_link_state: EOPNOTSUPP) and 802.1ad (igb_ndo_set_vf_vlan: EPROTONOSUPPORT).
# e2e-qemu: -machine q35 -device intel-iommu,intremap=on
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1
# e2e-qemu: -netdev user,id=n0,restrict=on
# e2e-qemu: -device igb,bus=rp1,netdev=n0

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
echo "pf: $pf iface: $pf_if"

apply_now_netdevice 2
check "virtfn1 netdev appears" wait_for "$sys/virtfn1/net" 10
# igb answers its VFs' mailbox from its interrupt handler, which runs only while the PF is up.
ip link set "$pf_if" up

section set
run_cmd out vfproof set "$pf_if" 'vf=0 mac=02:00:5e:10:00:10 vlan=100 qos=3 spoofchk=off' 'vf=1 mac=02:00:5e:10:00:11'
echo "$out"
expect_eq "set exit code" "$out_rc" 0
expect_contains "set in one round trip" "$out" "set: round_trips=1 ok"
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex
expect_contains "get vf 0" "$out" "vf 0 mac 02:00:5e:10:00:10 vlan 100 qos 3 proto 802.1Q max_tx_rate 0 min_tx_rate 0 spoofchk off"
expect_contains "get vf 1" "$out" "vf 1 mac 02:00:5e:10:00:11 vlan 0 qos 0"
run_cmd out vfproof set "$pf_if" 'vf=0 spoofchk=on trust=on'
echo "$out"
expect_contains "spoofchk on, trust on" "$out" "set: round_trips=1 ok"
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex
echo "$out" | grep reply-hex | sed 's/^/final-/'
expect_contains "get vf 0 after" "$out" "vf 0 mac 02:00:5e:10:00:10 vlan 100 qos 3 proto 802.1Q max_tx_rate 0 min_tx_rate 0 spoofchk on link-state auto trust on"

section igbvf-view
for i in 0 1; do
    vf_pci=$(basename "$(readlink "$sys/virtfn$i")")
    sysfs_write "$vf_pci" /sys/bus/pci/drivers/igbvf/unbind
    sysfs_write "$vf_pci" /sys/bus/pci/drivers/igbvf/bind
    check "virtfn$i netdev back" wait_for "$sys/virtfn$i/net" 10
    vf=$(ls "$sys/virtfn$i/net" | head -n1)
    echo "igbvf: vf=$i iface=$vf address=$(cat /sys/class/net/$vf/address)"
done

section refused
run_cmd out vfproof set "$pf_if" 'vf=0 state=enable'
echo "$out"
expect_eq "link_state exit code" "$out_rc" 1
run_cmd out vfproof set "$pf_if" 'vf=1 vlan=200 proto=802.1ad'
echo "$out"
expect_eq "802.1ad exit code" "$out_rc" 1
# A batch with a refused setting in the middle: everything else lands, the refusal is named.
run_cmd out vfproof set "$pf_if" 'vf=0 trust=off state=disable' 'vf=1 spoofchk=off'
echo "$out"
expect_eq "mixed batch exit code" "$out_rc" 1
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex
ip link set "$pf_if" down
