//! harvester-sriov: make SR-IOV NICs usable by VMs on Harvester nodes.
//!
//! The shape: I/O at the edges (scan sysfs, read the config, prompt, write
//! the target), pure functions in between (inventory + answers -> plan ->
//! rendered files). `main` only calls [`run`].

pub mod apply;
pub mod boot;
pub mod cli;
pub mod config;
pub mod configspace;
pub mod configure;
pub mod detect;
pub mod device;
mod diff;
pub mod exit_codes;
pub mod fsx;
#[doc(hidden)]
pub mod fuzzing;
mod hex;
pub mod hook;
pub mod labels;
pub mod names;
pub mod plan;
pub mod render;
pub mod report;
pub mod sysfs;
pub mod verify;
pub mod yaml;

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
        cli::Command::Plan {
            config,
            sysfs,
            target,
            format,
        } => apply::cmd_plan(
            &config,
            &apply::Target { sysfs, root: target },
            format,
            &mut stdout,
            &mut stderr,
        ),
        cli::Command::Apply {
            config,
            sysfs,
            target,
            dry_run,
        } => apply::cmd_apply(
            &config,
            &apply::Target { sysfs, root: target },
            dry_run,
            &mut stdout,
            &mut stderr,
        ),
        cli::Command::Boot { sysfs, state, wait } => boot::run(
            &boot::Options {
                sysfs,
                state,
                wait: std::time::Duration::from_secs(wait),
            },
            &mut stdout,
        ),
        cli::Command::Configure {
            sysfs,
            target,
            config,
            save,
            dry_run,
        } => configure::run(
            &configure::Options {
                sysfs,
                target,
                config,
                save,
                dry_run,
            },
            &mut stdout,
            &mut stderr,
        ),
        cli::Command::Hook {
            config,
            sysfs,
            target,
            strict,
        } => hook::run(
            &hook::Options {
                config,
                target: apply::Target { sysfs, root: target },
                strict,
            },
            &mut stdout,
            &mut stderr,
        ),
        cli::Command::Remove { target, dry_run } => apply::cmd_remove(&target, dry_run, &mut stdout),
        cli::Command::Verify {
            sysfs,
            state,
            target,
            format,
        } => verify::run(
            &verify::Options {
                sysfs,
                state,
                target,
                format,
            },
            &mut stdout,
        ),
    }
    .and_then(|code| {
        stdout.flush()?;
        Ok(code)
    })
}
