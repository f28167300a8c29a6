#!/usr/bin/env bash
# The main job on the shipped sample: detect the SR-IOV NICs of a real sysfs
# snapshot (a QEMU q35 guest, Linux 6.1, Intel 82576 with 2 VFs), then apply
# an install config into a fresh target root and show what was written.
#
#   bash scripts/demo.sh [CONFIG]   (default: config-samples/create-single-node.yaml)
#
# The target root is target/demo/root (recreated each run).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-config-samples/create-single-node.yaml}
sysfs=samples/sysfs/qemu-igb-2vfs
root=target/demo/root
bin=$(bash scripts/build-static.sh)   # the same static binary the installer runs
rm -rf "$root" && mkdir -p "$root"

echo "\$ harvester-sriov detect --sysfs $sysfs"
"$bin" detect --sysfs "$sysfs"
echo
echo "\$ harvester-sriov apply --config $config --sysfs $sysfs --target $root"
"$bin" apply --config "$config" --sysfs "$sysfs" --target "$root"
echo
echo "\$ harvester-sriov verify --sysfs $sysfs --target $root   # before boot: VFs not yet as planned"
"$bin" verify --sysfs "$sysfs" --target "$root" || true
echo
echo "== $root/oem/95_harvester-sriov.yaml (the yip file Elemental runs at every boot: it writes the"
echo "== files outside /oem and enables harvester-sriov.service, which creates the VFs before rke2)"
cat "$root/oem/95_harvester-sriov.yaml"
