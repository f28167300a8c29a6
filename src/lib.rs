//! harvester-sriov: make SR-IOV NICs usable by VMs on Harvester nodes.
//!
//! The shape: I/O at the edges (scan sysfs, read the config, prompt, write
//! the target), pure functions in between (inventory + answers -> plan ->
//! rendered files). `main` only calls [`run`].

pub mod cli;
pub mod configspace;
pub mod detect;
pub mod device;
pub mod exit_codes;
#[doc(hidden)]
pub mod fuzzing;
mod hex;
pub mod names;
pub mod report;
pub mod sysfs;

use std::io::Write;

pub use exit_codes::ExitCode;

/// Run one parsed command line. Errors carry their context; `main` prints
/// the chain and maps it to exit code 2.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    match cli.command {
        cli::Command::Detect { sysfs, format, all } => {
            detect::run(&sysfs, format, all, &mut stdout, &mut stderr)
        }
    }
    .and_then(|code| {
        stdout.flush()?;
        Ok(code)
    })
}
