# Per-VF settings benchmark (issue 19), driven by scripts/bench-vf.sh: the same settings (MAC,
# VLAN + QoS, spoof check off, trust on) on every VF of one igb PF, (a) by the library's
# `Rtnl::set_vfs` (examples/vfproof.rs as /bin/vfproof: the one call `boot` makes per PF) and
# (b) by one iproute2 `ip link set DEV vf N mac ... vlan ... qos ... spoofchk ... trust ...` per
# VF, each from the same starting state (every VF reset to a baseline first), in alternating
# order, several repetitions. Needs the iproute2 layer (E2E_INITRD_EXTRA=cache/iproute2-rootfs.cpio:
# ip, bash for EPOCHREALTIME, strace to count each side's netlink requests).
# Kernel arguments: bench_reps=N (default 7), bench_vfs=N (default 7, the 82576's maximum).
# Prints `bench: rep=R side=tool|ip us=WALL …  landed=K/N`, `bench-startup: rep=R side=ip us=…`
# (as many `ip -V` as VFs: process start-up alone), `bench-requests: side=… requests=N` (strace's
# count of netlink sendto/sendmsg calls) and `bench-request-types: …`.
# e2e-qemu: -machine q35 -device intel-iommu,intremap=on
# e2e-qemu: -device pcie-root-port,id=rp1,chassis=1,slot=1
# e2e-qemu: -netdev user,id=n0,restrict=on
# e2e-qemu: -device igb,bus=rp1,netdev=n0

arg() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
reps=$(arg bench_reps)
vfs=$(arg bench_vfs)
reps=${reps:-7}
vfs=${vfs:-7}
opt=/opt/iproute2/bin
check "iproute2 layer present" test -x "$opt/ip" -a -x "$opt/bash" -a -x "$opt/strace"
check "vfproof present" test -x /bin/vfproof

pf=$(pci_find 0x8086 0x10c9 | head -n1)
sys=/sys/bus/pci/devices/$pf
pf_if=$(ls "$sys/net" 2>/dev/null | head -n1)
echo "pf: $pf iface: $pf_if vfs: $vfs reps: $reps ($("$opt/ip" -V))"

apply_now_netdevice "$vfs"
check "virtfn$((vfs - 1)) netdev appears" wait_for "$sys/virtfn$((vfs - 1))/net" 20
# igb answers its VFs' mailbox from its interrupt handler, which runs only while the PF is up.
ip link set "$pf_if" up

section bench
cat >/tmp/bench.bash <<'BASH'
set -u
pf=$1 n=$2 reps=$3
opt=/opt/iproute2/bin
base=() target=() want=()
for ((i = 0; i < n; i++)); do
    h=$(printf %02x "$i")
    base+=("vf=$i mac=02:00:5e:00:00:$h vlan=0 qos=0 spoofchk=on trust=off")
    target+=("vf=$i mac=02:00:5e:20:00:$h vlan=$((100 + i)) qos=3 spoofchk=off trust=on")
    want+=("vf $i mac 02:00:5e:20:00:$h vlan $((100 + i)) qos 3 proto 802.1Q max_tx_rate 0 min_tx_rate 0 spoofchk off link-state auto trust on")
done
ip_all() { # every VF by iproute2, one process each; its exit codes in $ip_failed
    local i h
    ip_failed=0
    for ((i = 0; i < n; i++)); do
        h=$(printf %02x "$i")
        "$opt/ip" link set dev "$pf" vf "$i" mac "02:00:5e:20:00:$h" vlan "$((100 + i))" qos 3 \
            spoofchk off trust on || ip_failed=$((ip_failed + 1))
    done
}
reset() { # the starting state of every run: each VF on the baseline, read back
    /bin/vfproof set "$pf" "${base[@]}" >/tmp/reset.out ||
        { echo "bench-error: reset failed: $(cat /tmp/reset.out)"; exit 1; }
    /bin/vfproof get "$pf" | grep -c 'spoofchk on link-state auto trust off' >/tmp/reset.n
    [ "$(cat /tmp/reset.n)" = "$n" ] || { echo "bench-error: reset left $(cat /tmp/reset.n)/$n VFs on the baseline"; exit 1; }
}
landed() { # how many VFs read back exactly the target settings (vfproof get, RTM_GETLINK)
    local got k=0 w
    got=$(/bin/vfproof get "$pf")
    for w in "${want[@]}"; do
        grep -qxF "$w" <<<"$got" && k=$((k + 1))
    done
    echo "$k/$n"
}
us() { echo $((${2/./} - ${1/./})); } # two EPOCHREALTIME values -> microseconds between them
sends() { grep -cE '^([0-9]+ +)?(sendto|sendmsg)\(.*nlmsg_type=' "$1"; }
types() { # the message types in a strace log (numbers: netlink_diag, which strace decodes by, is not loaded)
    local t all=
    for t in $(grep -oE 'nlmsg_type=(0x[0-9a-f]+|RTM_[A-Z]+)' "$1" | sed 's/nlmsg_type=//'); do
        case $t in
        0x10) t=RTM_NEWLINK ;;
        0x12) t=RTM_GETLINK ;;
        0x13) t=RTM_SETLINK ;;
        esac
        all="$all${all:+ }$t"
    done
    echo "$all"
}

# Request counts, by strace (untimed; also the warm-up): netlink sendto/sendmsg calls per side.
reset
"$opt/strace" -f -qq -e trace=sendto,sendmsg -o /tmp/tool.st /bin/vfproof set "$pf" "${target[@]}" >/tmp/tool.out
echo "bench-requests: side=tool requests=$(sends /tmp/tool.st) landed=$(landed)"
reset
: >/tmp/ip.st
for ((i = 0; i < n; i++)); do
    h=$(printf %02x "$i")
    "$opt/strace" -f -qq -e trace=sendto,sendmsg -o /tmp/one.st "$opt/ip" link set dev "$pf" vf "$i" \
        mac "02:00:5e:20:00:$h" vlan "$((100 + i))" qos 3 spoofchk off trust on
    cat /tmp/one.st >>/tmp/ip.st
done
echo "bench-requests: side=ip requests=$(sends /tmp/ip.st) landed=$(landed)"
echo "bench-request-types: tool: $(types /tmp/tool.st); one ip link set: $(types /tmp/one.st)"

for ((r = 1; r <= reps; r++)); do
    order="tool ip"
    [ $((r % 2)) = 0 ] && order="ip tool"
    for side in $order; do
        reset
        if [ "$side" = tool ]; then
            t0=$EPOCHREALTIME
            /bin/vfproof set "$pf" "${target[@]}" >/tmp/tool.out
            t1=$EPOCHREALTIME
            rt=$(sed -n 's/^set: round_trips=\([0-9]*\) ok$/\1/p' /tmp/tool.out)
            inproc=$(sed -n 's/^set-time: us=//p' /tmp/tool.out)
            echo "bench: rep=$r side=tool us=$(us "$t0" "$t1") inproc_us=${inproc:-?} round_trips=${rt:-?} landed=$(landed)"
        else
            t0=$EPOCHREALTIME
            ip_all
            t1=$EPOCHREALTIME
            echo "bench: rep=$r side=ip us=$(us "$t0" "$t1") processes=$n failed=$ip_failed landed=$(landed)"
        fi
    done
    # The floor of the ip side: as many `ip -V` (start, print the version, exit: no netlink).
    t0=$EPOCHREALTIME
    for ((i = 0; i < n; i++)); do "$opt/ip" -V >/dev/null; done
    t1=$EPOCHREALTIME
    echo "bench-startup: rep=$r side=ip us=$(us "$t0" "$t1") processes=$n"
done
BASH
"$opt/bash" /tmp/bench.bash "$pf_if" "$vfs" "$reps"
expect_eq "bench exit code" "$?" 0
ip link set "$pf_if" down
