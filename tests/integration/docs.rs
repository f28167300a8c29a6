//! The README and the reference under `docs/` stay true to `--help`: every
//! subcommand, flag and exit code the binary has is documented in
//! `docs/commands.md`, no page names a command the binary does not have,
//! every relative link leads to a file (and heading), and the README stays a
//! front page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use harvester_sriov::cli::Cli;

use crate::support::repo;

/// The page that documents every subcommand, flag and exit code.
const COMMANDS: &str = "docs/commands.md";

/// The README is a front page: the reference lives in `docs/`.
const FRONT_PAGE_MAX_LINES: usize = 300;

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

/// The README is a front page: what the tool is, the two commands (CI runs
/// the second), the install routes, where to look next; at most 300 lines,
/// and every page under `docs/` is reachable from it.
#[test]
fn readme_is_a_front_page_that_leads_to_every_docs_page() {
    let readme = read("README.md");
    let n = readme.lines().count();
    assert!(
        n <= FRONT_PAGE_MAX_LINES,
        "README.md has {n} lines, more than {FRONT_PAGE_MAX_LINES}: move the reference to docs/"
    );
    let two = readme
        .split("## The two commands")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README.md has no section `## The two commands`");
    for command in ["bash scripts/demo.sh", "bash scripts/test-all.sh"] {
        assert!(
            two.lines().any(|l| l == command),
            "README.md's two commands lack `{command}`"
        );
    }
    assert!(
        read(".ci/run")
            .lines()
            .any(|l| l == "exec bash scripts/test-all.sh"),
        ".ci/run does not run the README's second command"
    );
    for (page, _) in pages().into_iter().skip(1) {
        assert!(
            readme.contains(&format!("]({page})")) || readme.contains(&format!("]({page}#")),
            "README.md has no link to {page}"
        );
    }
}

/// A heading's anchor, by GitHub's rule: lower case; letters, digits, `-`
/// and `_` kept, a space becomes `-`, everything else (backquotes, `.`,
/// `:`, `(`) goes.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The lines of a Markdown text that are not inside a fenced code block.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut out = vec![];
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
        } else if !fenced {
            out.push(line);
        }
    }
    out
}

/// Every anchor a Markdown text's headings give, as GitHub numbers a
/// repeated one (`x`, `x-1`, `x-2`).
fn anchors(text: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = vec![];
    for line in prose(text) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let s = slug(&line[hashes..]);
        let n = seen.entry(s.clone()).or_insert(0);
        out.push(if *n == 0 { s.clone() } else { format!("{s}-{n}") });
        *n += 1;
    }
    out
}

/// Every link target `[text](TARGET)` of a Markdown text, outside code
/// blocks and code spans.
fn link_targets(text: &str) -> Vec<String> {
    let prose = prose(text).join("\n");
    // code spans: the odd pieces between backquotes (they may cross a line)
    let outside: String = prose.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let mut out = vec![];
    for piece in outside.split("](").skip(1) {
        if let Some(end) = piece.find(')') {
            out.push(piece[..end].to_owned());
        }
    }
    out
}

/// Every Markdown file of the project: the README, `docs/`, and the READMEs
/// beside the code (build output, git, the fuzz corpora and symlinked caches
/// left out).
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let kind = e.file_type().unwrap();
            let name = e.file_name();
            // build output, fuzz corpora and the e2e cache (unpacked Debian packages): not ours
            if kind.is_symlink()
                || [".git", "target", "corpus", "artifacts", "cache"]
                    .iter()
                    .any(|n| name == *n)
            {
                continue;
            }
            if kind.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut out = vec![];
    walk(&repo(), &mut out);
    out.sort();
    out
}

/// Every relative link in the project's Markdown leads to a file or
/// directory that exists, and its `#anchor` to a heading of that page.
#[test]
fn every_relative_link_leads_to_a_file_and_heading() {
    let files = markdown_files();
    assert!(files.len() > 10, "found only {files:?}");
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(repo()).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            assert!(
                dest.exists(),
                "{}: the link ({target}) leads to {}, which does not exist",
                rel.display(),
                dest.display()
            );
            if !anchor.is_empty() {
                assert!(
                    dest.extension().is_some_and(|x| x == "md"),
                    "{}: the link ({target}) has an anchor into a file that is not Markdown",
                    rel.display()
                );
                let there = anchors(&std::fs::read_to_string(&dest).unwrap());
                assert!(
                    there.iter().any(|a| a == anchor),
                    "{}: the link ({target}) names no heading of {path:?}; its anchors: {there:?}",
                    rel.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 50,
        "only {checked} relative links found: is the link reader broken?"
    );
}

/// The anchor rule against headings whose GitHub anchors are known.
#[test]
fn anchors_follow_githubs_rule() {
    let page = "# Commands and exit codes\n\n## Unattended: `hook` in `os.after_install_chroot_commands`\n\
        ```sh\n# 1. not a heading\n```\n## `apply --config` against a root\n### Exit codes\n\
        ## NetworkManager (Harvester v1.7 and later)\n### Exit codes\n#not-a-heading\n";
    assert_eq!(
        anchors(page),
        [
            "commands-and-exit-codes",
            "unattended-hook-in-osafter_install_chroot_commands",
            "apply---config-against-a-root",
            "exit-codes",
            "networkmanager-harvester-v17-and-later",
            "exit-codes-1",
        ]
    );
    assert_eq!(
        link_targets("see [a](x.md#b), `[not](a link)`\n```\n[nor](this)\n```\n[c](../d)"),
        ["x.md#b", "../d"]
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
