# Rates, side by side, for scripts/bench-datapath.sh: dpdk-testpmd's txonly generator on a VF the
# tool made (net_e1000_igb_vf), on the PF itself (net_e1000_igb) and on a virtio-net device
# (net_virtio), at 64 and 1500 bytes a frame, BENCH_SECONDS each. Under TCG these are emulation
# speeds (see tests/e2e/README.md, "Numbers"): they show function, not SR-IOV performance.
# The NICs have no netdev: QEMU drops their frames at once, so the rate is the emulated device's
# and DPDK's, not a host socket's. Needs the DPDK layer (E2E_INITRD_EXTRA), as datapath-dpdk.
# Prints `bench: port=… pmd=… size=… pps=… prints=…` lines: pps is the mean of testpmd's NIC
# Tx-pps over its once-a-second stats prints, the first (a partial second) left out.
# e2e-qemu: -machine q35 -cpu max -device intel-iommu,intremap=on
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1 -device igb,bus=rp1
# e2e-qemu: -device pcie-root-port,id=rp2,chassis=2,slot=2
# e2e-qemu: -device virtio-net-pci,bus=rp2,disable-legacy=on,iommu_platform=on

BENCH_SECONDS=5

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
for f in all default $pf_if; do sysfs_write 1 "/proc/sys/net/ipv6/conf/$f/disable_ipv6"; done
ip link set "$pf_if" up
mkdir -p /tmp/target
cat >/tmp/config.yaml <<CFG
os:
  hostname: e2e-node
sriov:
  enabled: true
  num_vfs: 1
  device_type: vfio-pci
  operator: none
CFG
run_cmd out harvester-sriov apply --now --config /tmp/config.yaml --sysfs /sys --target /tmp/target
expect_eq "apply --now exit code" "$out_rc" 0
vf=$(basename "$(readlink "$sys/virtfn0")")
expect_eq "virtfn0 driver" "$(basename "$(readlink "$sys/virtfn0/driver")")" vfio-pci

# to_vfio PCI: binds a device without a driver (or unbinds it first) to vfio-pci.
to_vfio() {
    [ -e "/sys/bus/pci/devices/$1/driver" ] && sysfs_write "$1" "/sys/bus/pci/devices/$1/driver/unbind"
    sysfs_write vfio-pci "/sys/bus/pci/devices/$1/driver_override"
    sysfs_write "$1" /sys/bus/pci/drivers_probe
    expect_eq "$1 driver" "$(basename "$(readlink "/sys/bus/pci/devices/$1/driver")")" vfio-pci
}

# bench PORT PCI SIZE: txonly for BENCH_SECONDS, one `bench:` line.
bench() {
    rm -f /tmp/tp.log
    timeout -s INT 120 /usr/bin/dpdk-testpmd -l 0-1 -n 1 --no-huge -m 256 --no-shconf --iova-mode=va -a "$2" -- \
        --forward-mode=txonly --txpkts="$3" --stats-period=1 --eth-peer=0,02:00:00:00:e2:e2 --nb-cores=1 \
        --total-num-mbufs=2048 </dev/null >/tmp/tp.log 2>&1 &
    _pid=$!
    _n=600
    while ! grep -q 'NIC statistics for port 0' /tmp/tp.log && kill -0 $_pid 2>/dev/null && [ $_n -gt 0 ]; do
        sleep 0.1
        _n=$((_n - 1))
    done
    sleep "$BENCH_SECONDS"
    kill -INT $_pid
    wait $_pid
    pmd=$(sed -n 's/^EAL: Probe PCI driver: \([a-z0-9_]*\) .*/\1/p' /tmp/tp.log | head -n1)
    awk -v port="$1" -v pmd="$pmd" -v size="$3" '/Tx-pps:/ { n++; if (n > 1) { sum += $2; k++ } }
        END { printf "bench: port=%s pmd=%s size=%s pps=%d prints=%d\n", port, pmd, size, k ? sum / k : 0, k }' /tmp/tp.log
    grep -q 'NIC statistics for port 0' /tmp/tp.log || { fail "testpmd on $2 printed no stats"; tail -n 20 /tmp/tp.log; }
}

section bench
for size in 64 1500; do bench vf "$vf" "$size"; done
sysfs_write 0 "$sys/sriov_numvfs"
to_vfio "$pf"
for size in 64 1500; do bench pf "$pf" "$size"; done
virtio=$(pci_find 0x1af4 0x1041 | head -n1)
to_vfio "$virtio"
for size in 64 1500; do bench virtio-net "$virtio" "$size"; done
