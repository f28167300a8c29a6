#!/usr/bin/env bash
# Every test of the project, from a fresh Debian machine with Rust installed.
# Installs what the tests need (as root, from Debian's packages) when missing,
# then: format check, clippy, the static build check, the Go test oracles
# (scripts/oracles.sh), unit + integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The full run compares; it never rewrites the expected test outputs.
unset HARVESTER_SRIOV_BLESS

apt_updated=
need() { # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "test-all: '$1' is missing: install the Debian package '$2' (or run this script as root)" >&2
        exit 2
    fi
    [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need lspci pciutils   # the oracle of the differential tests
need file file        # proves the release binary is static
need c++ g++          # libfuzzer-sys compiles libFuzzer when the fuzz targets are built
need NetworkManager network-manager   # its own config reader (--print-config) reads our drop-in (networkmanager.rs)

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings
# and the code behind the features (the fuzz harness, the vfproof example)
cargo clippy --locked --all-targets --all-features -- -D warnings
echo "== static release binary"
bin=$(bash scripts/build-static.sh)
file "$bin"
file "$bin" | grep -Eq 'statically linked|static-pie linked' || { echo "test-all: $bin is not static" >&2; exit 1; }
size=$(stat -c %s "$bin")
echo "size: $size bytes"
[ "$size" -lt $((8 * 1024 * 1024)) ] || { echo "test-all: $bin is $size bytes, over 8 MiB" >&2; exit 1; }
echo "== the README's demo command"
bash scripts/demo.sh > /dev/null
echo "== e2e prerequisites (QEMU, Debian kernel)"
bash tests/e2e/setup.sh
echo "== fuzz targets build on stable (fuzzing itself needs nightly: scripts/fuzz.sh)"
cargo build --locked --manifest-path fuzz/Cargo.toml --bins --examples
echo "== the fuzz harness (feature fuzzing): every committed corpus replayed, and the harness's own tests"
cargo test --locked --manifest-path fuzz/Cargo.toml
cargo test --locked --features fuzzing --lib --test integration -- fuzzing:: fleet::round_trip
echo "== Go test oracles (tests/oracles -> target/oracles)"
bash scripts/oracles.sh
echo "== cargo test"
HARVESTER_SRIOV_STATIC_BIN="$bin" cargo test --locked -- --include-ignored
