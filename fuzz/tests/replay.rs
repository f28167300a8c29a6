//! Replays every committed fuzz corpus (`corpus/<target>/`) through the same
//! bodies the `cargo fuzz` targets run (`harvester_sriov::fuzzing`), on
//! stable Rust: the inputs the fuzzers found interesting, and every crash
//! they ever found (kept as `regression-*` files), stay checked on every CI
//! run (`cargo test --manifest-path fuzz/Cargo.toml`, scripts/test-all.sh).
//!
//! It lives here, in the crate that enables the library's `fuzzing` feature,
//! so that the main crate's own tests run the library as it ships.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use harvester_sriov::fuzzing::TARGETS;

#[test]
fn every_committed_corpus_replays_without_a_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, body) in TARGETS {
        let dir = corpus.join(name);
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (every fuzz target needs a committed corpus)",
                    dir.display()
                )
            })
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: empty corpus", dir.display());
        for file in files {
            let data = fs::read(&file).unwrap();
            if std::panic::catch_unwind(|| body(&data)).is_err() {
                panic!("fuzz target {name} panics on {}", file.display());
            }
        }
    }
}

/// Every target takes the empty input.
#[test]
fn empty_inputs() {
    for (_, body) in TARGETS {
        body(&[]);
    }
}
