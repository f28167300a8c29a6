//! Test harness shared by the integration modules.

use std::path::PathBuf;

/// The repository root (for fixtures and samples).
#[allow(dead_code)]
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
