//! One module per subcommand: its options value, built once from the
//! parsed flags (`From<&cli::…Args>`; nothing past this layer sees clap's
//! types), the wiring from it to the library, and the words a person sees.
//! The work itself lives in scan, intent, plan, render, write, kernel and
//! console.

pub(crate) mod apply;
pub(crate) mod boot;
pub(crate) mod configure;
pub(crate) mod detect;
pub(crate) mod fleet_check;
pub(crate) mod handoff;
pub(crate) mod hook;
pub(crate) mod verify;
pub(crate) mod vf_added;
