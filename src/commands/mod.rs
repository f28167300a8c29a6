//! One module per subcommand: wiring from the parsed flags to the library,
//! and the words a person sees. The work itself lives in scan, intent, plan,
//! render, write, kernel and console.

pub mod apply;
pub mod boot;
pub mod configure;
pub mod detect;
pub mod handoff;
pub mod hook;
pub mod verify;
