//! Replays every committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! same bodies the `cargo fuzz` targets run (`harvester_sriov::fuzzing`), on
//! stable Rust: the inputs the fuzzers found interesting, and every crash
//! they ever found (kept as `regression-*` files), stay checked by
//! `cargo test`.

use std::fs;

use harvester_sriov::fuzzing::TARGETS;

use crate::support::repo;

#[test]
fn every_committed_corpus_replays_without_a_panic() {
    for (name, body) in TARGETS {
        let dir = repo().join("fuzz/corpus").join(name);
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
