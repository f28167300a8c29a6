//! Intent: what the person wants. Read from the install config (the `sriov:`
//! section and the Harvester keys it depends on) or asked at the console,
//! and kept as an answers file for the other nodes.

pub mod answers;
pub mod config;
pub mod labels;
pub mod prompt;
pub mod vf;
