# Per-VF settings on the wire (issue 18 item 3): `apply --now` of a config with `vfs:` makes 2
# netdevice VFs on QEMU's igb: VF 0 gets MAC 02:00:5e:10:00:50, VLAN 100 with QoS 5 and spoof
# check on; VF 1 MAC 02:00:5e:10:00:51 and spoof check on. VF 0 pings QEMU's gateway: its frames
# must leave tagged (the 82576 inserts the port VLAN, VMVIR; the gateway, untagged, never
# answers). VF 1 joins a bridge whose own MAC is 02:00:5e:10:00:99, so the bridge's ARP requests
# leave through VF 1 with a source MAC that is not the VF's, with spoof check on (asking for
# 10.0.2.2) and then off (set by vfproof, the library's own rtnetlink code; asking for 10.0.2.3).
# On a real 82576 the first must not leave; QEMU's igb model does not enforce MAC anti-spoofing
# (qemu/qemu:hw/net/igb_core.c, igb_tx_pkt_switch reads DTXSWC only for its loopback bit), so
# here both leave, and the test says so. The test (tests/integration/e2e.rs) captures the wire
# with `-object filter-dump` and counts.
# IPv6 is off so the interfaces send nothing but ARP and ICMP.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=on
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1
# e2e-qemu: -netdev user,id=n0,restrict=on,net=10.0.2.0/24,host=10.0.2.2
# e2e-qemu: -device igb,bus=rp1,netdev=n0

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
echo "pf: $pf iface: $pf_if"
for f in all default $pf_if; do sysfs_write 1 "/proc/sys/net/ipv6/conf/$f/disable_ipv6"; done
# igb answers its VFs' mailbox (igbvf asks it for its MAC) only while the PF is up.
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
        - {id: 0, mac_address: "02:00:5e:10:00:50", vlan_id: 100, qos: 5}
        - {id: 1, mac_address: "02:00:5e:10:00:51"}
CFG
for i in 0 1; do
    check "virtfn$i netdev" wait_for "$sys/virtfn$i/net" 10
    n=$(ls "$sys/virtfn$i/net" | head -n1)
    for f in $n; do sysfs_write 1 "/proc/sys/net/ipv6/conf/$f/disable_ipv6"; done
    eval "vf$i=$n"
    echo "vf$i: $n address=$(cat /sys/class/net/$n/address)"
done
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex

wait_up() {
    n=100
    while [ "$(cat "/sys/class/net/$1/operstate")" != up ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    expect_eq "$1 operstate" "$(cat "/sys/class/net/$1/operstate")" up
}

section vlan
ip link set "$vf0" up
ip addr add 10.0.2.15/24 dev "$vf0"
wait_up "$vf0"
# Tagged, the ARP requests get no answer: 3 are sent (the kernel's ARP retries), no reply.
run_cmd out ping -c 3 -i 1 -W 1 10.0.2.2
echo "$out"
expect_contains "no reply to a tagged VF (the gateway is untagged)" "$out" "3 packets transmitted, 0 packets received"
ip link set "$vf0" down
sleep 3
echo "vf0-stats: tx_packets=$(cat /sys/class/net/$vf0/statistics/tx_packets)"

section spoof-on
brctl addbr br0
brctl addif br0 "$vf1"
sysfs_write 1 /proc/sys/net/ipv6/conf/br0/disable_ipv6
ip link set br0 address 02:00:5e:10:00:99
ip link set "$vf1" up
ip link set br0 up
ip addr add 10.0.2.16/24 dev br0
wait_up "$vf1"
echo "marker: spoof-on start"
run_cmd out ping -c 3 -i 1 -W 1 10.0.2.2
echo "$out"
sleep 1

section spoof-off
run_cmd out vfproof set "$pf_if" 'vf=1 spoofchk=off'
echo "$out"
expect_contains "spoof check off through rtnetlink" "$out" "set: round_trips=1 ok"
run_cmd out vfproof get "$pf_if"
echo "$out" | grep -v reply-hex
# Another address (QEMU's DNS, 10.0.2.3), so the capture tells the two phases apart. No
# answer reaches the bridge either way: the PF refuses VF 1 a second MAC filter (not trusted).
run_cmd out ping -c 3 -i 1 -W 1 10.0.2.3
echo "$out"
ip link set br0 down
ip link set "$vf1" down
ip link set "$pf_if" down
dmesg | grep -i spoof || true
