//! The layout the README promises: `ls src/` shows the pipeline, each stage
//! reads only the ones before it, no two modules of one stage import each
//! other, and the README's layout table names exactly what `ls src/` shows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo;

/// The pipeline, in order: a stage may name (`crate::X`) only the stages
/// before it. `lib.rs` and `main.rs` are the crate's root and wire them all.
const ORDER: &[&str] = &[
    "exit_codes",
    "bounded",
    "shell",
    "layout",
    "scan",
    "intent",
    "plan",
    "state",
    "render",
    "write",
    "kernel",
    "report",
    "console",
    "pipeline",
    "cli",
    "commands",
    "fuzzing",
    "vfproof",
];

/// Every `.rs` file under `dir`, with its text.
fn rust_files(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            out.push((p, text));
        }
    }
}

/// The stage a file under `src/` belongs to: its first path component
/// without `.rs` (`src/write/lock.rs` is `write`).
fn stage_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// Every `crate::NAME` a file's code mentions (comments left out), and the
/// `crate::STAGE::MODULE` it names inside a stage.
fn mentions(text: &str) -> Vec<(String, Option<String>, usize)> {
    let mut out = vec![];
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `harvester_sriov_crate::` and the like
            }
            let ident = |s: &str| {
                s.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            };
            let name = ident(rest);
            let sub = rest[name.len()..]
                .strip_prefix("::")
                .map(ident)
                .filter(|s| !s.is_empty());
            out.push((name, sub, n + 1));
        }
    }
    out
}

#[test]
fn no_stage_imports_a_later_one() {
    let src = repo().join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let rank = |s: &str| ORDER.iter().position(|o| *o == s);
    let mut back = vec![];
    // (stage, file's module) -> modules of the same stage it names
    let mut within: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &files {
        let rel = path.strip_prefix(&src).unwrap();
        let stage = stage_of(rel);
        if stage == "lib" || stage == "main" {
            continue;
        }
        let Some(mine) = rank(&stage) else {
            panic!(
                "src/{}: stage `{stage}` is not in the pipeline order",
                rel.display()
            );
        };
        let module = rel
            .components()
            .nth(1)
            .map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        for (name, sub, line) in mentions(text) {
            // the crate root's own items (`crate::ExitCode`, `crate::error_message`)
            let Some(theirs) = rank(&name) else { continue };
            if theirs > mine {
                back.push(format!(
                    "src/{}:{line}: `{stage}` reads the later stage `{name}`",
                    rel.display()
                ));
            }
            if theirs == mine
                && let Some(sub) = sub
                && sub != module
            {
                within
                    .entry((stage.clone(), module.clone()))
                    .or_default()
                    .insert(sub);
            }
        }
    }
    assert!(
        back.is_empty(),
        "imports pointing back up the pipeline:\n{}",
        back.join("\n")
    );
    let mut pairs = vec![];
    for ((stage, a), names) in &within {
        for b in names {
            if a < b
                && within
                    .get(&(stage.clone(), b.clone()))
                    .is_some_and(|n| n.contains(a))
            {
                pairs.push(format!("{stage}::{a} and {stage}::{b} import each other"));
            }
        }
    }
    assert!(pairs.is_empty(), "{}", pairs.join("\n"));
}

/// A back-import is caught: the checker itself can fail.
#[test]
fn the_checker_sees_a_back_import() {
    let found = mentions("use crate::render::yaml; // crate::write\nlet x = crate::ExitCode::Success;");
    assert_eq!(
        found,
        [
            ("render".to_owned(), Some("yaml".to_owned()), 1),
            ("ExitCode".to_owned(), Some("Success".to_owned()), 2)
        ]
    );
}

#[test]
fn the_readme_layout_table_is_ls_src() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("## How the code is laid out")
        .expect("README has no layout section");
    let section = &readme[start..];
    let table: BTreeSet<String> = section
        .lines()
        .skip_while(|l| !l.starts_with("| path |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            // the first cell: one or more `src/NAME` in backquotes
            let cell = l.split('|').nth(1).unwrap_or("");
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(|p| p.trim_start_matches("src/").trim_end_matches('/').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let ls: BTreeSet<String> = std::fs::read_dir(repo().join("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(table, ls, "README's layout table against `ls src/`");
    // and the table lists the stages in pipeline order
    let rows: Vec<String> = table
        .iter()
        .map(|t| t.trim_end_matches(".rs").to_owned())
        .collect();
    for stage in ORDER {
        assert!(
            rows.contains(&(*stage).to_owned()),
            "README's table has no row for `{stage}`"
        );
    }
}
