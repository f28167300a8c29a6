//! Intent: what the person wants. Read from the install config (the `sriov:`
//! section and the Harvester keys it depends on) or asked at the console,
//! and kept as an answers file for the other nodes.

pub mod answers;
pub mod config;
mod harvester;
pub mod labels;
mod model;
pub mod prompt;
mod reader;
mod schema;
