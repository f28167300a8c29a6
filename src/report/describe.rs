//! The plan and the file changes in words, for a person.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::plan::{self, Plan};
use crate::write::{Change, FileSpec, Outcome};

fn or_dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// The plan for a person: what gets VFs, what is left alone and why.
pub(crate) fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "node {}: SR-IOV {}, device type {}, hand-off to {}, resource {}{}",
        plan.node,
        if plan.enabled { "enabled" } else { "disabled" },
        plan.device_type,
        plan.operator,
        plan.resource_name,
        plan.mtu.map(|m| format!(", MTU {m}")).unwrap_or_default()
    );
    if plan.pfs.is_empty() {
        let _ = writeln!(s, "VFs at every boot: none");
    } else {
        if plan.operator == crate::intent::config::Operator::Pcidevices {
            let _ = writeln!(
                s,
                "VFs (created by the pcidevices controller from the hand-off; boot leaves the count to it):"
            );
        } else {
            let _ = writeln!(s, "VFs at every boot:");
        }
        for p in &plan.pfs {
            let _ = writeln!(
                s,
                "  {}  {:<10} {}:{} {:<9} {} of {} VFs (VF {}:{}){}",
                p.address,
                or_dash(p.interface.as_deref()),
                p.vendor_id,
                p.device_id,
                p.driver,
                p.num_vfs,
                p.total_vfs,
                p.vendor_id,
                p.vf_device_id,
                if p.method == plan::Method::ModuleParam {
                    ", by module parameter"
                } else {
                    ""
                }
            );
            for v in &p.vfs {
                let _ = writeln!(s, "      {}", v.describe());
            }
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(s, "left alone:");
        for k in &plan.skipped {
            let _ = writeln!(
                s,
                "  {}  {:<10} {}: {}",
                k.address,
                or_dash(k.interface.as_deref()),
                k.name,
                k.reason
            );
        }
    }
    if !plan.labels.is_empty() {
        let labels: Vec<String> = plan.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(s, "node labels: {}", labels.join(", "));
    }
    s
}

pub(crate) fn change_word(c: Change) -> &'static str {
    match c {
        Change::Create => "create",
        Change::Update => "update",
        Change::Unchanged => "unchanged",
        Change::Remove => "remove",
    }
}

/// The versions now in the target of the files a plan changes, by logical
/// path, for [`describe_changes`]'s diff: read at the edge
/// (`pipeline::old_versions`), as the writer finds them. An absent file is
/// empty; one that cannot be read says why.
pub(crate) type OldVersions = BTreeMap<PathBuf, Result<Vec<u8>, String>>;

/// The file list; with `old` (the versions now in the target), a line diff
/// of every text file that changes. Pure: `root` only names the files.
pub(crate) fn describe_changes(
    root: &Path,
    files: &[FileSpec],
    outcome: &Outcome,
    old: Option<&OldVersions>,
) -> String {
    let mut s = String::new();
    for (path, change) in &outcome.changes {
        let _ = writeln!(
            s,
            "  {:<9} {}",
            change_word(*change),
            root.join(path.strip_prefix("/").unwrap_or(path)).display()
        );
        let Some(olds) = old else { continue };
        if matches!(change, Change::Unchanged) {
            continue;
        }
        let Some(new) = files.iter().find(|f| f.path == *path) else {
            continue;
        };
        let Ok(new_text) = std::str::from_utf8(&new.contents) else {
            let _ = writeln!(s, "      (binary, {} bytes)", new.contents.len());
            continue;
        };
        let old = match olds.get(path) {
            Some(Ok(bytes)) => bytes.as_slice(),
            None => &[],
            Some(Err(why)) => {
                let _ = writeln!(s, "      (no diff: {why})");
                continue;
            }
        };
        match std::str::from_utf8(old) {
            Ok(o) => s.push_str(&crate::report::diff::lines(o, new_text, "      ")),
            Err(_) => {
                let _ = writeln!(s, "      (binary, {} bytes)", new.contents.len());
            }
        }
    }
    s
}
