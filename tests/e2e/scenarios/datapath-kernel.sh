# Kernel data path across a VF the tool made: `apply --now` creates 2 VFs (netdevice), igbvf
# binds, VF 0 gets 10.0.2.15/24 and pings QEMU's user-network gateway (restrict=on: nothing
# leaves the host). The test (tests/integration/e2e.rs) adds a host-side
# `-object filter-dump,netdev=n0,file=…pcap` and checks that the frames it captured agree with
# the counters printed here (`vf-stats:`) and carry the VF's MAC.
# IPv6 is off so the interfaces send nothing but ARP and ICMP: every frame is accounted for.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=on
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1
# e2e-qemu: -netdev user,id=n0,restrict=on,net=10.0.2.0/24,host=10.0.2.2
# e2e-qemu: -device igb,bus=rp1,netdev=n0

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
echo "pf: $pf iface: $pf_if"
for f in all default; do sysfs_write 1 /proc/sys/net/ipv6/conf/$f/disable_ipv6; done
sysfs_write 1 "/proc/sys/net/ipv6/conf/$pf_if/disable_ipv6"

apply_now_netdevice 2
expect_eq "sriov_numvfs" "$(cat "$sys/sriov_numvfs")" 2
check "virtfn0 netdev appears" wait_for "$sys/virtfn0/net" 10
expect_eq "virtfn0 driver" "$(basename "$(readlink "$sys/virtfn0/driver")")" igbvf
vf=$(ls "$sys/virtfn0/net" | head -n1)
vf_pci=$(basename "$(readlink "$sys/virtfn0")")
echo "vf: $vf_pci iface: $vf"

section traffic
ip link set "$pf_if" up
ip link set "$vf" up
ip addr add 10.0.2.15/24 dev "$vf"
n=100
while [ "$(cat "/sys/class/net/$vf/operstate")" != up ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
expect_eq "VF operstate" "$(cat "/sys/class/net/$vf/operstate")" up
run_cmd out ping -c 10 -i 0.2 -W 5 10.0.2.2
echo "$out"
expect_contains "ping 64-byte" "$out" "10 packets transmitted, 10 packets received"
run_cmd out ping -c 10 -i 0.2 -W 5 -s 1400 10.0.2.2
echo "$out"
expect_contains "ping 1400-byte" "$out" "10 packets transmitted, 10 packets received"
# igbvf reads the VF's hardware counters every 2 s (its watchdog): wait for a fresh read,
# then take the VF down so it sends nothing more while the guest powers off.
sleep 4.5
st=/sys/class/net/$vf/statistics
echo "vf-stats: mac=$(cat "/sys/class/net/$vf/address") tx_packets=$(cat $st/tx_packets) tx_bytes=$(cat $st/tx_bytes) rx_packets=$(cat $st/rx_packets) rx_bytes=$(cat $st/rx_bytes)"
# The other VF (no address, down) and the PF: what the 82576's internal switch gave them.
vf1=$(ls "$sys/virtfn1/net" | head -n1)
for i in "$vf1" "$pf_if"; do
    echo "other-stats: $i rx_packets=$(cat /sys/class/net/$i/statistics/rx_packets) tx_packets=$(cat /sys/class/net/$i/statistics/tx_packets)"
done
ip link set "$vf" down
ip link set "$pf_if" down
