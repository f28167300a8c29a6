use clap::Parser;
use harvester_sriov::{ExitCode, cli::Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("harvester-sriov: error: {err:#}");
            ExitCode::Error.into()
        }
    }
}
