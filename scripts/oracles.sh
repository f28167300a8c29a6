#!/usr/bin/env bash
# Builds every Go test oracle (tests/oracles/<name>/, one Go module each, its
# upstream pinned in go.mod/go.sum) into target/oracles/<name>. The Rust tests
# in tests/integration/oracle_<name>.rs run these binaries on the tool's output.
# Go modules come from the Go module proxy into the module cache (once); no Go
# toolchain is ever downloaded (GOTOOLCHAIN=local) and go.mod/go.sum are never
# rewritten (-mod=readonly): a missing go.sum line is an error, not an update.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
    echo "oracles: 'go' is missing: install Go >= 1.22 (the go directive of tests/oracles/*/go.mod) and put it on PATH" >&2
    exit 2
fi
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
out="$PWD/target/oracles"
mkdir -p "$out"

build() { # build NAME: tests/oracles/NAME -> target/oracles/NAME
    local name=$1 t0 t1
    t0=$(date +%s%N)
    (cd "tests/oracles/$name" && go build -trimpath -o "$out/$name" .)
    t1=$(date +%s%N)
    echo "oracles: target/oracles/$name ($(( (t1 - t0) / 1000000 )) ms)"
}

# One line per oracle (branches add theirs here).
build sriov-network-operator
# its chart's supported-nic-ids ConfigMap, read by the oracle from next to the binary
cp "$(cd tests/oracles/sriov-network-operator && go list -m -f '{{.Dir}}' github.com/k8snetworkplumbingwg/sriov-network-operator)/deployment/sriov-network-operator-chart/templates/configmap.yaml" \
    "$out/sriov-network-operator.supported-nic-ids.yaml"
build pcidevices
build cluster-model
