//! The README and the reference under `docs/` stay true to `--help`: every
//! subcommand, flag and exit code the binary has is documented in
//! `docs/commands.md`, and no page names a command the binary does not have.

use std::path::PathBuf;

use clap::CommandFactory;
use harvester_sriov::cli::Cli;

use crate::support::repo;

/// The page that documents every subcommand, flag and exit code.
const COMMANDS: &str = "docs/commands.md";

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// README.md and every page under `docs/`, by their path in the repository.
fn pages() -> Vec<(String, String)> {
    let mut out = vec![("README.md".to_owned(), read("README.md"))];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    assert!(!docs.is_empty(), "docs/ has no page");
    for p in docs {
        let rel = p.strip_prefix(repo()).unwrap().to_string_lossy().into_owned();
        let text = read(&rel);
        out.push((rel, text));
    }
    out
}

#[test]
fn readme_documents_every_subcommand_and_flag() {
    let reference = read(COMMANDS);
    let cli = Cli::command();
    let mut names = vec![];
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        names.push(name.to_owned());
        assert!(
            reference.contains(&format!("`{name} ")),
            "{COMMANDS} does not document `{name}`"
        );
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(
                    reference.contains(&format!("--{long}")),
                    "{COMMANDS} does not mention `{name} --{long}`"
                );
            }
        }
    }
    // every `harvester-sriov X` in the README and docs/ is a real subcommand (names may have a `-`)
    for (page, text) in pages() {
        for word in text.split("harvester-sriov ").skip(1) {
            let cmd: String = word
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                .collect();
            let cmd = cmd.trim_end_matches('-').to_owned();
            if cmd.starts_with(|c: char| c.is_ascii_lowercase()) {
                assert!(
                    names.contains(&cmd),
                    "{page} names `harvester-sriov {cmd}`, which does not exist"
                );
            }
        }
    }
}

/// Each exit code has its own row in the exit code table of
/// `docs/commands.md`, under its name, with the value it really has.
#[test]
fn readme_documents_every_exit_code_by_name() {
    use harvester_sriov::ExitCode;
    let readme = read(COMMANDS);
    let table = readme
        .split("## Exit codes")
        .nth(1)
        .and_then(|s| s.split("\n\n").nth(1))
        .expect("docs/commands.md has an Exit codes table");
    let mut rows = vec![];
    for code in ExitCode::ALL {
        let name = format!("{code:?}");
        let row = table
            .lines()
            .find(|l| l.contains(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("{COMMANDS}'s exit code table has no row for `{name}`:\n{table}"));
        assert!(
            row.starts_with(&format!("| {} |", code.code())),
            "{COMMANDS} row for {name} does not give its value {}: {row}",
            code.code()
        );
        rows.push(row);
    }
    rows.sort();
    rows.dedup();
    assert_eq!(
        rows.len(),
        ExitCode::ALL.len(),
        "two codes share a row of {COMMANDS}"
    );
}

/// Every `.rs` file under `src/`, with its text.
fn sources() -> Vec<(std::path::PathBuf, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    let mut out = vec![];
    walk(&repo().join("src"), &mut out);
    out.sort();
    out
}

/// PCI ids and class codes are formatted by `scan::pci` only (`hex16`,
/// `id`, `class`), so every output spells them the same way. The fuzz
/// harness builds sysfs *input* text and is left out.
#[test]
fn hex_ids_are_formatted_in_one_place() {
    for (path, text) in sources() {
        let rel = path.strip_prefix(repo()).unwrap();
        if rel == std::path::Path::new("src/scan/pci.rs") || rel == std::path::Path::new("src/fuzzing.rs") {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.contains("04x}") && !line.contains("06x}"),
                "{}:{}: a hand-formatted id; use scan::pci::{{hex16, id, class}}: {line}",
                rel.display(),
                n + 1
            );
        }
    }
}

/// A symlink's basename (`driver` -> `igb`) is read by one function. (The
/// writer reads whole link destinations, relative to directory handles, to
/// resolve paths inside the target: that is another job.)
#[test]
fn link_name_is_defined_once() {
    let mut defs = vec![];
    for (path, text) in sources() {
        let rel = path.strip_prefix(repo()).unwrap().to_owned();
        defs.extend(text.matches("fn link_name").map(|_| rel.clone()));
        if rel != std::path::Path::new("src/scan/sysfs.rs") && !rel.starts_with("src/write") {
            assert!(
                !text.contains("read_link("),
                "{}: reads a link itself; use scan::sysfs::link_name",
                rel.display()
            );
        }
    }
    assert_eq!(defs, [std::path::PathBuf::from("src/scan/sysfs.rs")]);
}
