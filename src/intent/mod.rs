//! Intent: what the person wants. Read from the install config (the `sriov:`
//! section and the Harvester keys it depends on) or given as the
//! console's answers (the wizard itself is [`crate::console`]).

pub(crate) mod answers;
pub(crate) mod config;
pub(crate) mod labels;
pub(crate) mod vf;
