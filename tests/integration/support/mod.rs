//! Test harness shared by the integration modules.

pub mod dumps;
pub mod space;
pub mod tree;

use std::path::PathBuf;

/// The repository root (for fixtures and samples).
#[allow(dead_code)]
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
