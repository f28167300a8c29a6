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

/// Whether `err` comes from writing to a closed pipe (`detect | head`): not
/// an error, the reader has what it wanted (ripgrep's rule, as `grep` does:
/// look for `BrokenPipe` anywhere in the chain).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The one line `main` prints for an error: every cause in the chain once,
/// outermost first, joined by `: `. A cause whose text the link before it
/// already shows is left out, so nothing is said twice.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut previous = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || previous.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        previous = text;
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {source}")]
    struct Embeds {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_shown_is_not_repeated() {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let err = anyhow::Error::from(Embeds { source: io() }).context("reading x");
        assert_eq!(error_message(&err), format!("reading x: outer: {}", io()));
        let err = anyhow::Error::from(io()).context("reading x");
        assert_eq!(error_message(&err), format!("reading x: {}", io()));
        assert!(!is_broken_pipe(&err));
        let pipe = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the report");
        assert!(is_broken_pipe(&pipe));
    }
}
