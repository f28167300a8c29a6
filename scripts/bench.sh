#!/usr/bin/env bash
# The performance report, in one run, side by side on one synthetic sysfs
# tree of 4,096 functions (16 Intel 82576 PFs x 255 VFs, see
# examples/make-bench-tree.rs): `harvester-sriov detect` against
# `lspci -v | grep SR-IOV` and the floor (`cat` of every config file); `plan`
# and `apply` (a re-run: the target already holds the install) on that tree;
# the start-up time of `--version`; and the size of the static release binary.
#
#   scripts/bench.sh [OUT_DIR]      (default OUT_DIR: target/bench)
#
# Writes OUT_DIR/bench.{json,md} (hyperfine exports) and prints the ratios
# lspci/detect and detect/floor. The tree goes to /dev/shm when it
# exists (sysfs is in memory too), else to OUT_DIR. Installs the Debian
# packages hyperfine and pciutils when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/bench}
mkdir -p "$out"

need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "bench: '$1' is missing: install the Debian package '$2'" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need hyperfine hyperfine
need lspci pciutils
need python3 python3-minimal

echo "== build (release)"
cargo build --release --quiet --bin harvester-sriov --example make-bench-tree
bin=$PWD/target/release/harvester-sriov

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=$out
tree=$(mktemp -d "$base/bench-sysfs.XXXXXX")
trap 'rm -rf "$tree"' EXIT
rmdir "$tree"
echo "== tree"
target/release/examples/make-bench-tree "$tree"

# Sanity: both tools must see the 16 PFs before their speed means anything.
pfs=$("$bin" detect --sysfs "$tree" --format json | grep -c '"status": "vfs-enabled"')
lspci_pfs=$(lspci -A linux-sysfs -O "sysfs.path=$tree/bus/pci" -v 2>/dev/null | grep -c 'SR-IOV')
echo "detect sees $pfs SR-IOV PFs, lspci sees $lspci_pfs"
[ "$pfs" = 16 ] && [ "$lspci_pfs" = 16 ] || { echo "bench: expected 16 PFs" >&2; exit 1; }

echo "== hyperfine ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
target_root=$(mktemp -d "$base/bench-target.XXXXXX")
config=$target_root.yaml
trap 'rm -rf "$tree" "$target_root" "$config"' EXIT
printf 'os:\n  hostname: bench\nsriov:\n  enabled: true\n  num_vfs: 8\n' > "$config"
"$bin" apply --config "$config" --sysfs "$tree" --target "$target_root" > /dev/null 2>&1
hyperfine --warmup 3 --min-runs 20 --shell bash \
    --export-json "$out/bench.json" --export-markdown "$out/bench.md" \
    -n detect "$bin detect --sysfs $tree --format json > /dev/null" \
    -n lspci "lspci -A linux-sysfs -O sysfs.path=$tree/bus/pci -v 2>/dev/null | grep SR-IOV > /dev/null" \
    -n floor "cat $tree/bus/pci/devices/*/config > /dev/null" \
    -n plan "$bin plan --config $config --sysfs $tree --target $target_root > /dev/null 2>&1" \
    -n apply "$bin apply --config $config --sysfs $tree --target $target_root > /dev/null 2>&1" \
    -n version "$bin --version > /dev/null"
static=$(bash scripts/build-static.sh)

python3 - "$out/bench.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ms = {k: v["mean"] * 1000 for k, v in r.items()}
for k in ("detect", "lspci", "floor", "plan", "apply", "version"):
    print(f"{k:>7}: {ms[k]:8.1f} ms  (median {r[k]['median']*1000:.1f} ms, sd {r[k]['stddev']*1000:.1f})")
print(f"lspci/detect = {ms['lspci']/ms['detect']:.1f}x   (goal >= 10x)")
print(f"detect/floor = {ms['detect']/ms['floor']:.2f}     (goal <= 1)")
# Wall time depends on how busy the machine is; CPU time much less so.
cpu = {k: (v["user"] + v["system"]) * 1000 for k, v in r.items()}
print(f"CPU (user+sys): detect {cpu['detect']:.1f} ms, lspci {cpu['lspci']:.1f} ms, "
      f"floor {cpu['floor']:.1f} ms; lspci/detect = {cpu['lspci']/cpu['detect']:.1f}x")
PY
echo "static release binary: $(stat -c %s "$static") bytes ($static)"
echo "exports: $out/bench.json $out/bench.md"
