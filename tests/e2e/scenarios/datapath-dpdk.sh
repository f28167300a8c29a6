# Userspace data path across a VF the tool made, and across the PF ("without SR-IOV"):
# `apply --now` (`num_vfs: 2`, `device_type: vfio-pci`, VF 0 with the admin MAC
# 02:00:5e:10:00:60) creates the VFs, sets the MAC and binds them to vfio-pci
# under the emulated VT-d (a real IOMMU group each); Debian's dpdk-testpmd (DPDK 22.11, PMD
# net_e1000_igb_vf) opens VF 0 and runs txonly, rxonly and macswap against a raw-Ethernet peer
# on the host; then the scenario puts the VFs away, binds the PF itself to vfio-pci and runs the
# same three on it (PMD net_e1000_igb).
#
# Needs the DPDK layer (tests/e2e/dpdk/build-rootfs.sh, cache/dpdk-rootfs.cpio, appended with
# E2E_INITRD_EXTRA), `-cpu max` (Debian's DPDK needs SSE4.2; TCG's default qemu64 has none, so
# dpdk-testpmd dies of SIGILL), and from the caller the NIC and its netdev, e.g.
#   E2E_INITRD_EXTRA=tests/e2e/cache/dpdk-rootfs.cpio bash tests/e2e/run.sh datapath-dpdk \
#     -netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=P1,remote.type=inet,remote.host=127.0.0.1,remote.port=P2 \
#     -device igb,bus=rp1,netdev=n0
# The test (tests/integration/e2e.rs) is the peer on 127.0.0.1:P2 (each UDP datagram is one
# Ethernet frame, QEMU's dgram netdev) and reads the console as it comes (E2E_VERBOSE=1): a line
# `e2e-peer: send PHASE COUNT MAC` asks it to send COUNT frames to MAC (rxonly: none may come back;
# macswap: each must come back, MACs swapped). The scenario waits until the NIC counters testpmd
# prints show them (bounded), then prints one `dpdk-stats:` line a phase (the NIC counters'
# change during the phase, testpmd's forward counts at exit); the test checks them against its
# own counts and a filter-dump pcap.
# e2e-qemu: -machine q35 -cpu max -device intel-iommu,intremap=on
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1

PEER_MAC=02:00:00:00:e2:e2
TXONLY_SECONDS=${TXONLY_SECONDS:-1}
RX_FRAMES=1000
FWD_FRAMES=1000

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
echo "pf: $pf iface: $pf_if"
# The PF's kernel driver answers the VFs' mailbox only while its interface is up; with IPv6 off
# and no address it sends nothing itself.
for f in all default $pf_if; do sysfs_write 1 "/proc/sys/net/ipv6/conf/$f/disable_ipv6"; done
ip link set "$pf_if" up

mkdir -p /tmp/target /var/run
cat >/tmp/config.yaml <<CFG
os:
  hostname: e2e-node
sriov:
  enabled: true
  num_vfs: 2
  device_type: vfio-pci
  operator: none
  devices:
    - match: {interface: $pf_if}
      vfs:
        - {id: 0, mac_address: "02:00:5e:10:00:60"}
CFG
section apply-now
run_cmd out harvester-sriov apply --now --config /tmp/config.yaml --sysfs /sys --target /tmp/target
echo "$out"
expect_eq "apply --now exit code" "$out_rc" 0
expect_eq "sriov_numvfs" "$(cat "$sys/sriov_numvfs")" 2
vf=$(basename "$(readlink "$sys/virtfn0")")
expect_eq "virtfn0 driver" "$(basename "$(readlink "$sys/virtfn0/driver")")" vfio-pci
group=$(basename "$(readlink "$sys/virtfn0/iommu_group")")
check "VF IOMMU group /dev/vfio/$group" test -c "/dev/vfio/$group"
echo "vf: $vf iommu_group: $group"

# testpmd runs non-interactively, one process a phase (`--forward-mode=PHASE`): its interactive
# commands print through a buffered stdout that reaches a file only at exit, while
# `--stats-period 1` prints the port's NIC counters every second and flushes them
# (DPDK/dpdk:app/test-pmd/testpmd.c, main and print_stats, v22.11). SIGINT stops it: it stops
# forwarding, prints its own per-port forward counts and closes the port (signal_handler).

# tp_start PCI PHASE: starts testpmd on PCI in forward mode PHASE, waits for its first stats.
tp_start() {
    rm -f /tmp/tp.log
    # --no-huge -m 256: malloc'd memory, no hugetlbfs; physical addresses are then unknown and
    # EAL takes IOVA as VA, which VFIO's type-1 IOMMU maps. --no-shconf: no files in /var/run.
    # busybox timeout execs testpmd itself (so $! is testpmd) and sends SIGINT after 150 s.
    timeout -s INT 150 /usr/bin/dpdk-testpmd -l 0-1 -n 1 --no-huge -m 256 --no-shconf --iova-mode=va -a "$1" -- \
        --forward-mode="$2" --stats-period=1 --eth-peer=0,$PEER_MAC --nb-cores=1 --total-num-mbufs=2048 \
        </dev/null >/tmp/tp.log 2>&1 &
    tp_pid=$!
    _n=600
    while ! grep -q 'NIC statistics for port 0' /tmp/tp.log && kill -0 $tp_pid 2>/dev/null && [ $_n -gt 0 ]; do
        sleep 0.1
        _n=$((_n - 1))
    done
    grep -q 'NIC statistics for port 0' /tmp/tp.log || { fail "testpmd $2 on $1 printed no stats"; cat /tmp/tp.log; }
    sed -n '/^EAL: Probe PCI driver/p; /^Port 0: /p' /tmp/tp.log
    expect_contains "$2: testpmd probed $1" "$(grep '^EAL: Probe PCI driver' /tmp/tp.log)" "$pmd"
    # The VF PMD takes the MAC the PF assigned (the tool's admin MAC), and makes one up at
    # every start when there is none (DPDK/dpdk:drivers/net/e1000/igb_ethdev.c,
    # eth_igbvf_dev_init), which it registers with the PF (e1000_rar_set). The PF's own is its
    # EEPROM's.
    mac=$(sed -n 's/^Port 0: \([0-9A-Fa-f:]*\)$/\1/p' /tmp/tp.log | head -n1 | tr 'A-F' 'a-f')
    echo "dpdk-port: $name $2 pci=$1 mac=$mac"
    # The NIC counters before this phase's traffic (the VF's registers count on across
    # processes; the PF's are read-to-clear and accumulated by the PMD from its first read).
    base_rx=$(tp_nic rx_packets) base_rxb=$(tp_nic rx_bytes) base_tx=$(tp_nic tx_packets) base_txb=$(tp_nic tx_bytes)
}

# tp_nic FIELD: FIELD (rx_packets rx_bytes tx_packets tx_bytes tx_pps tx_bps rx_pps rx_bps) of
# the last NIC statistics testpmd printed.
tp_nic() {
    awk -v want="$1" '/NIC statistics for port 0/ { n = 1 }
        /Forward statistics|Accumulated forward/ { n = 0 }
        n && /RX-packets:/ { v["rx_packets"] = $2; v["rx_bytes"] = $6 }
        n && /TX-packets:/ { v["tx_packets"] = $2; v["tx_bytes"] = $6 }
        n && /Rx-pps:/ { v["rx_pps"] = $2; v["rx_bps"] = $4 }
        n && /Tx-pps:/ { v["tx_pps"] = $2; v["tx_bps"] = $4 }
        END { print (want in v) ? v[want] : "?" }' /tmp/tp.log
}

# tp_wait FIELD VALUE SECONDS: waits until the NIC counter FIELD reaches VALUE.
tp_wait() {
    _n=$(($3 * 10))
    while [ $_n -gt 0 ]; do
        [ "$(tp_nic "$1")" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.1
        _n=$((_n - 1))
    done
    return 1
}

# tp_stop NAME PHASE: SIGINT, then one `dpdk-stats:` line: the last NIC counters and testpmd's
# own forward counts at exit.
tp_stop() {
    kill -INT $tp_pid
    _n=300
    while kill -0 $tp_pid 2>/dev/null && [ $_n -gt 0 ]; do sleep 0.1; _n=$((_n - 1)); done
    wait $tp_pid
    echo "testpmd $2 exit status: $?"
    fwd=$(awk '/Forward statistics for port 0/ { f = 1 }
        f && /RX-packets:/ { rx = $2; rxd = $4 }
        f && /TX-packets:/ { tx = $2; txd = $4; f = 0 }
        END { printf "fwd_rx=%s fwd_rx_dropped=%s fwd_tx=%s fwd_tx_dropped=%s", rx, rxd, tx, txd }' /tmp/tp.log)
    # nic_*: the phase's NIC counts (last print minus the first).
    echo "dpdk-stats: $1 $2 nic_rx_packets=$(($(tp_nic rx_packets) - base_rx)) nic_rx_bytes=$(($(tp_nic rx_bytes) - base_rxb)) nic_tx_packets=$(($(tp_nic tx_packets) - base_tx)) nic_tx_bytes=$(($(tp_nic tx_bytes) - base_txb)) $fwd"
    grep -E '^(EAL|ETHDEV|testpmd|Fail|Error).*(rror|fail)' /tmp/tp.log | head -n 5
}

# run_port NAME PCI PMD: txonly, rxonly and macswap on one port.
run_port() {
    name=$1 dev=$2 pmd=$3
    section "dpdk-$name"

    # txonly: testpmd's generator (64-byte IPv4/UDP frames to PEER_MAC) for TXONLY_SECONDS.
    # Its NIC counters here start after the first second of traffic: testpmd's own count at
    # exit is the exact one.
    tp_start "$dev" txonly
    sleep "$TXONLY_SECONDS"
    tp_stop "$name" txonly

    # rxonly: the peer sends RX_FRAMES frames to the port's MAC; nothing may leave.
    tp_start "$dev" rxonly
    echo "e2e-peer: send rxonly $RX_FRAMES $mac"
    check "$name rxonly: the NIC counted the peer's frames" tp_wait rx_packets "$((base_rx + RX_FRAMES))" 60
    sleep 2.5 # two more stats periods: nothing more arrives
    tp_stop "$name" rxonly

    # macswap: the peer sends FWD_FRAMES frames; each goes back with the MACs swapped.
    tp_start "$dev" macswap
    echo "e2e-peer: send macswap $FWD_FRAMES $mac"
    check "$name macswap: the NIC sent every frame back" tp_wait tx_packets "$((base_tx + FWD_FRAMES))" 60
    sleep 2.5
    tp_stop "$name" macswap
}

run_port vf "$vf" net_e1000_igb_vf

# Without SR-IOV: the VFs away, the PF on vfio-pci, the same three phases on it.
section pf-vfio
sysfs_write 0 "$sys/sriov_numvfs"
expect_eq "sriov_numvfs after 0" "$(cat "$sys/sriov_numvfs")" 0
sysfs_write "$pf" "$sys/driver/unbind"
sysfs_write vfio-pci "$sys/driver_override"
sysfs_write "$pf" /sys/bus/pci/drivers_probe
expect_eq "PF driver" "$(basename "$(readlink "$sys/driver")")" vfio-pci
run_port pf "$pf" net_e1000_igb
