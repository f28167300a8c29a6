#!/usr/bin/env bash
# Build the release binary statically linked, so it runs in the installer's
# environment and in a bare initramfs. musl when its Rust target is already
# installed; otherwise glibc with +crt-static (no download needed).
# Prints the path of the binary on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl
    cargo build --quiet --release --locked --target "$target" >&2
else
    target=x86_64-unknown-linux-gnu
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked --target "$target" >&2
fi
echo "${CARGO_TARGET_DIR:-$PWD/target}/$target/release/harvester-sriov"
