#!/usr/bin/env bash
# How long `fleet-check` takes over a large fleet: NODES nodes (default 100),
# each the synthetic tree of scripts/bench.sh (16 Intel 82576 PFs x 255 VFs,
# examples/make-bench-tree.rs), every VF with `mac_address: stable`: each
# node's detect output is the tree's, with its own PF MACs and no serial
# number (so every PF of the fleet has its own identity). Prints the last
# line of the report, the exit status, the wall time and the peak memory.
#
#   scripts/bench-fleet.sh [NODES]
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-100}
command -v python3 >/dev/null || { echo "bench-fleet: python3 is missing" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-fleet: /usr/bin/time is missing (Debian package time)" >&2; exit 2; }
cargo build --release --quiet --bin harvester-sriov --example make-bench-tree
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/harvester-sriov
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/bench-fleet.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$target/release/examples/make-bench-tree" "$dir/tree" >/dev/null
"$bin" detect --sysfs "$dir/tree" --format json >"$dir/one.json"
python3 - "$dir" "$nodes" <<'EOF'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
one = json.load(open(f"{d}/one.json"))
for i in range(n):
    for j, f in enumerate(x for x in one["devices"] if x["physfn"] is None):
        f["serial"] = None
        f["mac"] = "52:54:%02x:%02x:%02x:%02x" % (i >> 8, i & 255, j >> 8, j & 255)
    json.dump(one, open(f"{d}/node-{i}.json", "w"), indent=2)
EOF
printf 'sriov:\n  enabled: true\n  num_vfs: 255\n  operator: none\n  device_type: netdevice\n  vfs:\n    - {mac_address: stable}\n' >"$dir/config.yaml"
set +e
/usr/bin/time -f "wall %e s, peak memory %M KiB" "$bin" fleet-check --config "$dir/config.yaml" "$dir"/node-*.json >"$dir/out" 2>"$dir/err"
rc=$?
set -e
tail -1 "$dir/out"
echo "exit $rc; $(tail -1 "$dir/err")"
