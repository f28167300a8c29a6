#!/usr/bin/env bash
# Builds every Go test oracle (tests/oracles/<name>/, one Go module each, its
# upstream pinned in go.mod/go.sum) into target/oracles/<name>. The Rust tests
# in tests/integration/oracle_<name>.rs run these binaries on the tool's output.
# Go modules come from the Go module proxy into the module cache (once); no Go
# toolchain is ever downloaded (GOTOOLCHAIN=local) and go.mod/go.sum are never
# rewritten (-mod=readonly): a missing go.sum line is an error, not an update.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go >= 1.23 (the highest `go` directive of the built modules: sriov-network-operator v1.6.0's).
# Missing, as root on Debian 12
# with the bookworm-backports suite (tests/e2e/setup.sh adds it): Debian's golang-go from there.
go_ok() { command -v go >/dev/null 2>&1 && go version | grep -qE ' go1\.(2[3-9]|[3-9][0-9])'; }
if ! go_ok && [ "$(id -u)" = 0 ] &&
    grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "oracles: installing golang-go from bookworm-backports" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports golang-go >/dev/null
    hash -r
fi
if ! go_ok; then
    echo "oracles: Go >= 1.23 is missing: install it (Debian 12: golang-go from bookworm-backports," \
        "as root: bash tests/e2e/setup.sh adds that suite) and put 'go' on PATH" >&2
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
build yip
build sriov-network-operator
sno=$(cd tests/oracles/sriov-network-operator && go list -m -f '{{.Dir}}' github.com/k8snetworkplumbingwg/sriov-network-operator)
# its chart's supported-nic-ids ConfigMap, read by the oracle from next to the binary
cp "$sno/deployment/sriov-network-operator-chart/templates/configmap.yaml" \
    "$out/sriov-network-operator.supported-nic-ids.yaml"
# its NetworkAttachmentDefinition templates, read by (*SriovNetwork).RenderNetAttDef
# (api/v1/helper.go ManifestsPath) from next to the binary; the module cache is read-only
rm -rf "$out/sriov-network-operator.cni-config"
cp -r "$sno/bindata/manifests/cni-config" "$out/sriov-network-operator.cni-config"
chmod -R u+w "$out/sriov-network-operator.cni-config"
build pcidevices
build cluster-model
build installer-config
