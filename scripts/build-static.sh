#!/usr/bin/env bash
# Build the release binary statically linked, so it runs in the installer's
# environment and in a bare initramfs. musl when its Rust target is already
# installed; otherwise glibc with +crt-static (no download needed).
# Prints the path of the binary on stdout.
#   build-static.sh                   the tool
#   build-static.sh --example vfproof the real-kernel netlink proof (feature vfproof)
set -euo pipefail
cd "$(dirname "$0")/.."
what=(--bin harvester-sriov)
out=harvester-sriov
if [ "${1:-}" = --example ]; then
    what=(--features vfproof --example "$2")
    out=examples/$2
fi
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl
    cargo build --quiet --release --locked --target "$target" "${what[@]}" >&2
else
    target=x86_64-unknown-linux-gnu
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked --target "$target" "${what[@]}" >&2
fi
echo "${CARGO_TARGET_DIR:-$PWD/target}/$target/release/$out"
