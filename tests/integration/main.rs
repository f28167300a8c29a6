//! The one integration test binary (`autotests = false`): every module here
//! drives the real `harvester-sriov` binary or the library against trees
//! built in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fuzz_replay;
mod support;
