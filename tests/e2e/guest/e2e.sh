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

# json_flat < JSON: flattens pretty-printed JSON (as `--format json` prints it) into lines
# `path=value`, e.g. `devices.0.kernel.total_vfs=7`, `devices.0.interfaces.0=eth0`,
# `devices.0.physfn=null`; strings lose their quotes; empty arrays/objects print `[]`/`{}`.
json_flat() {
    awk '
    function path(k,   i, p) { p = ""; for (i = 1; i <= n; i++) p = p st[i] "."; return p k }
    function val(v) { if (v ~ /^".*"$/) v = substr(v, 2, length(v) - 2); return v }
    {
        l = $0; sub(/^[ \t]+/, "", l); sub(/,[ \t]*$/, "", l)
        if (l ~ /^"[^"]*": /) {
            k = l; sub(/^"/, "", k); sub(/": .*/, "", k)
            v = l; sub(/^"[^"]*": /, "", v)
            if (v == "{" || v == "[") { n++; st[n] = k; arr[n] = (v == "["); idx[n] = 0 }
            else print path(k) "=" val(v)
        } else if (l == "{" || l == "[") {
            if (n > 0 && arr[n]) { n++; st[n] = idx[n - 1]++; arr[n] = (l == "["); idx[n] = 0 }
        } else if (l == "}" || l == "]") {
            if (n > 0) n--
        } else if (n > 0 && arr[n] && l != "") {
            print path(idx[n]++) "=" val(l)
        }
    }'
}

# json_get FLATFILE PATH: the value of PATH in a json_flat output file (empty when absent).
json_get() {
    sed -n "s|^$2=||p" "$1" | head -n1
}

# apply_now_config: `apply --now` of the install config on stdin into /tmp/target (section
# apply-now: its output), and checks it exits 0.
apply_now_config() {
    mkdir -p /tmp/target
    cat >/tmp/config.yaml
    section apply-now
    run_cmd out harvester-sriov apply --now --config /tmp/config.yaml --sysfs /sys --target /tmp/target
    echo "$out"
    expect_eq "apply --now exit code" "$out_rc" 0
}

# apply_now_netdevice N: the tool makes N netdevice VFs on every SR-IOV NIC of this guest now
# (`apply --now` of a minimal config), and checks it exits 0.
apply_now_netdevice() {
    apply_now_config <<CFG
os:
  hostname: e2e-node
sriov:
  enabled: true
  num_vfs: $1
  device_type: netdevice
  operator: none
CFG
}

# section NAME: starts a named part of the output (`== NAME ==`); a test can assert one part.
section() {
    echo "== $* =="
}
