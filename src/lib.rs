//! harvester-sriov: make SR-IOV NICs usable by VMs on Harvester nodes.
//!
//! The shape: I/O at the edges (scan sysfs, read the config, prompt, write
//! the target), pure functions in between (inventory + answers -> plan ->
//! rendered files). `main` only calls [`run`].

pub mod cli;
pub mod commands;
mod exit_codes;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod intent;
pub(crate) mod pipeline;
pub(crate) mod plan;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod scan;
pub(crate) mod state;
pub(crate) mod write;

use std::io::Write;

pub use exit_codes::ExitCode;

/// Run one parsed command line. Errors carry their context; `main` prints
/// the chain and maps it to exit code 2.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    use cli::Command;
    match &cli.command {
        Command::Detect(args) => commands::detect::run(args, &mut stdout, &mut stderr),
        Command::Plan(args) => commands::apply::cmd_plan(args, &mut stdout, &mut stderr),
        Command::Apply(args) => commands::apply::cmd_apply(args, &mut stdout, &mut stderr),
        Command::Boot(args) => commands::boot::run(args, &mut stdout),
        Command::Configure(args) => commands::configure::run(args, &mut stdout, &mut stderr),
        Command::Hook(args) => commands::hook::run(args, &mut stdout, &mut stderr),
        Command::Remove(args) => commands::apply::cmd_remove(args, &mut stdout),
        Command::Verify(args) => commands::verify::run(args, &mut stdout),
    }
    .and_then(|code| {
        stdout.flush()?;
        Ok(code)
    })
}
