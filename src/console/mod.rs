//! The console: the interactive wizard of `configure`, the only stage that
//! talks to a person at a terminal.

pub mod wizard;
