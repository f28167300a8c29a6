//! The README stays true to `--help`: every subcommand and every flag the
//! binary accepts is documented there, and the README names no command the
//! binary does not have.

use clap::CommandFactory;
use harvester_sriov::cli::Cli;

use crate::support::repo;

#[test]
fn readme_documents_every_subcommand_and_flag() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let cli = Cli::command();
    let mut names = vec![];
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        names.push(name.to_owned());
        assert!(
            readme.contains(&format!("`{name} ")),
            "README does not document `{name}`"
        );
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(
                    readme.contains(&format!("--{long}")),
                    "README does not mention `{name} --{long}`"
                );
            }
        }
    }
    // every `harvester-sriov X` in the README is a real subcommand
    for word in readme.split("harvester-sriov ").skip(1) {
        let cmd: String = word.chars().take_while(|c| c.is_ascii_lowercase()).collect();
        if !cmd.is_empty() {
            assert!(
                names.contains(&cmd),
                "README names `harvester-sriov {cmd}`, which does not exist"
            );
        }
    }
}
