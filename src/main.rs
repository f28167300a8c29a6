use std::io::Write as _;

use clap::Parser;
use harvester_sriov::{ExitCode, cli::Cli, error_message, is_broken_pipe, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code.into(),
        // `detect | head`: the reader is gone, which is no failure of ours.
        Err(err) if is_broken_pipe(&err) => ExitCode::Success.into(),
        Err(err) => {
            // Not eprintln!: it panics when stderr is closed too.
            let _ = writeln!(
                std::io::stderr(),
                "harvester-sriov: error: {}",
                error_message(&err)
            );
            ExitCode::Error.into()
        }
    }
}
