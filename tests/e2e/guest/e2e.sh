# Helpers for e2e scenarios (busybox sh), sourced before /scenario.sh.
# Checks print "ok: ..." or "FAIL: ..." and never stop the scenario; when the scenario ends
# (without an explicit `exit`) the exit code is 1 if any check failed, else 0.

E2E_FAILS=0

pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; E2E_FAILS=$((E2E_FAILS + 1)); }

# check DESCRIPTION COMMAND [ARGS...]: passes when the command exits 0.
check() {
    desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc (command: $*)"; fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1 = '$2'"; else fail "$1: got '$2', want '$3'"; fi
}

# expect_contains DESCRIPTION TEXT NEEDLE
expect_contains() {
    case $2 in
    *"$3"*) pass "$1 contains '$3'" ;;
    *) fail "$1 does not contain '$3': $2" ;;
    esac
}

# run_cmd VAR COMMAND [ARGS...]: runs the command, stores stdout+stderr in $VAR and the exit
# code in $VAR_rc (e.g. run_cmd out harvester-sriov detect; echo "$out_rc").
run_cmd() {
    _var=$1
    shift
    _out=$("$@" 2>&1)
    _rc=$?
    eval "$_var=\$_out; ${_var}_rc=\$_rc"
}

# pci_find VENDOR DEVICE: the PCI addresses (DDDD:BB:DD.F) of matching functions, one a line.
pci_find() {
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor")" = "$1" ] && [ "$(cat "$d/device")" = "$2" ] && basename "$d"
    done
    return 0
}

# wait_for PATH [SECONDS]: waits until PATH exists (default 10 s).
wait_for() {
    _n=$((${2:-10} * 10))
    while [ ! -e "$1" ] && [ "$_n" -gt 0 ]; do
        sleep 0.1
        _n=$((_n - 1))
    done
    [ -e "$1" ]
}

# sysfs_write VALUE FILE: echo VALUE > FILE, reporting the shell's error text on failure.
sysfs_write() {
    echo "$1" >"$2"
}

e2e_finish() {
    if [ "$E2E_FAILS" -gt 0 ]; then
        echo "e2e: $E2E_FAILS check(s) failed"
        exit 1
    fi
    echo "e2e: all checks passed"
    exit 0
}
