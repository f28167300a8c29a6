//! harvester-sriov: make SR-IOV NICs usable by VMs on Harvester nodes.
//!
//! The shape: I/O at the edges (scan sysfs, read the config, prompt, write
//! the target), pure functions in between (inventory + answers -> plan ->
//! rendered files). `main` only calls [`run`].

mod bounded;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod console;
mod exit_codes;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod intent;
pub(crate) mod kernel;
pub(crate) mod layout;
pub(crate) mod pipeline;
pub(crate) mod plan;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod scan;
pub(crate) mod shell;
pub(crate) mod state;
/// The per-VF rtnetlink code on a real kernel, for `examples/vfproof.rs` only
/// (the QEMU proof of issue 19): not part of the tool's interface.
#[cfg(feature = "vfproof")]
#[doc(hidden)]
pub mod vfproof;
pub(crate) mod write;

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

/// This program's version (Cargo's), as `--version`, `hook.log`, the boot
/// journal and the state file's `written_by` record it.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// Run one parsed command line: the subcommand's flags become its options
/// value (built once, here), which is all the command and everything after
/// it read. Errors carry their context; `main` prints the chain and maps it
/// to exit code 2.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    use cli::Command;
    use commands::*;
    match &cli.command {
        Command::Detect(args) => detect::run(&args.into(), &mut stdout, &mut stderr),
        Command::Plan(args) => apply::cmd_plan(&args.into(), &mut stdout, &mut stderr),
        Command::Apply(args) => apply::cmd_apply(&args.into(), &mut stdout, &mut stderr),
        Command::Boot(args) => boot::run(&args.into(), &mut stdout),
        Command::VfAdded(args) => vf_added::run(&args.into(), &mut stdout),
        Command::Configure(args) => configure::run(&args.into(), &mut stdout, &mut stderr),
        Command::Hook(args) => hook::run(&args.into(), &mut stdout, &mut stderr),
        Command::Handoff(args) => handoff::run(&args.into(), &mut stdout),
        Command::Remove(args) => apply::cmd_remove(&args.into(), &mut stdout),
        Command::Verify(args) => verify::run(&args.into(), &mut stdout),
        Command::FleetCheck(args) => fleet_check::run(&args.try_into()?, &mut stdout),
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
