//! Write the benchmark's synthetic sysfs tree: 16 Intel 82576 PFs with
//! 255 VFs each (4,096 functions), real-looking (facts §3):
//! - PF config: the real 82576 dump (pciutils tests/cap-pcie-2) with
//!   Initial/Total/NumVFs 255, VF Enable, offset 128, stride 1;
//! - PF: `sriov_*` files, `virtfn0..254` links, driver igb, `net/ethN`;
//! - VF: 4 KiB PCIe config reading vendor/device ffff (as a VF's own header
//!   does), `vendor`/`device` files 8086:10ca, `physfn`, driver igbvf.
//!
//! Usage: `cargo run --release --example make-bench-tree -- DIR`
//! (DIR must not exist yet). Used by `scripts/bench.sh`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

// The integration tests' builders; this example uses only part of them
// (the tests themselves use all, with no dead-code exemption).
#[path = "../tests/integration/support/dumps.rs"]
#[allow(dead_code)]
mod dumps;
#[path = "../tests/integration/support/space.rs"]
#[allow(dead_code)]
mod space;
#[path = "../tests/integration/support/tree.rs"]
#[allow(dead_code)]
mod tree;

use tree::{Function, KernelSriov, Tree};

/// The repository root (for `dumps::fixture`).
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const PFS: u16 = 16;
const VFS_PER_PF: u16 = 255;
const VF_OFFSET: u16 = 128;
const VF_STRIDE: u16 = 1;

fn address(rid: u16) -> String {
    format!("0000:{:02x}:{:02x}.{}", rid >> 8, (rid >> 3) & 0x1f, rid & 7)
}

fn pf_config() -> Vec<u8> {
    let mut c = space::intel_82576_with(VFS_PER_PF, VFS_PER_PF);
    let at = 0x160;
    c[at + 0x14..at + 0x16].copy_from_slice(&VF_OFFSET.to_le_bytes());
    c[at + 0x16..at + 0x18].copy_from_slice(&VF_STRIDE.to_le_bytes());
    c
}

fn build() -> Tree {
    let pf_config = pf_config();
    let vf_config = space::Space::pcie(0xffff, 0xffff, 0x020000).bytes();
    let mut tree = Tree::new();
    for i in 0..PFS {
        // Two buses per PF: its VFs (RID + 128 + j) spill into the next one.
        let pf_rid = (0x10 + 2 * i) << 8;
        let pf = address(pf_rid);
        let vfs: Vec<String> = (0..VFS_PER_PF)
            .map(|j| address(pf_rid + VF_OFFSET + VF_STRIDE * j))
            .collect();
        tree = tree.function(
            Function::new(&pf, pf_config.clone())
                .driver("igb")
                .numa_node(i32::from(i % 2))
                .iommu_group(u32::from(i) * 256)
                .interface(&format!("eth{i}"), &format!("00:1b:21:00:{i:02x}:00"))
                .kernel_sriov(KernelSriov::new(
                    VFS_PER_PF, VFS_PER_PF, VF_OFFSET, VF_STRIDE, 0x10ca,
                )),
        );
        for (j, vf) in vfs.iter().enumerate() {
            tree = tree.function(
                Function::new(vf, vf_config.clone())
                    .ids(0x8086, 0x10ca)
                    .class(0x020000)
                    .driver("igbvf")
                    .numa_node(i32::from(i % 2))
                    .iommu_group(u32::from(i) * 256 + 1 + j as u32),
            );
        }
        let refs: Vec<&str> = vfs.iter().map(String::as_str).collect();
        tree = tree.link_vfs(&pf, &refs);
    }
    tree
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: make-bench-tree DIR");
        return ExitCode::from(2);
    };
    if Path::new(&dir).exists() {
        eprintln!("make-bench-tree: {} exists already", dir.display());
        return ExitCode::from(2);
    }
    let tree = build();
    if let Err(e) = tree.write(&dir) {
        eprintln!("make-bench-tree: writing {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    println!(
        "{}: {} functions ({PFS} PFs x {VFS_PER_PF} VFs)",
        dir.display(),
        tree.functions.len()
    );
    ExitCode::SUCCESS
}
