//! The state file: the resolved plan that `boot` enforces at every start
//! and `verify` compares with. Its format is rendered and parsed here only.
//!
//! It is JSON in `/oem/harvester-sriov/state.json`: not a `*.yaml`, which yip
//! would load as a cloud-config at every stage (mudler/yip:`pkg/executor/default.go`
//! `dirOps`). A `state.yaml` of an older version is still read, with a notice.

use std::io;
use std::path::{Path, PathBuf};

use crate::plan::{Plan, STATE_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{file}: cannot read the state file")]
    Read { file: PathBuf, source: io::Error },
    #[error("{file}: not a harvester-sriov state file: {message}")]
    Invalid { file: PathBuf, message: String },
}

/// State files are small; anything larger is not ours (at most this many
/// bytes + 1 are read).
pub(crate) const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;

/// Load and check the state written by `apply`.
pub fn load(file: &Path) -> Result<Plan, StateError> {
    let opened = std::fs::File::open(file).map_err(|source| StateError::Read {
        file: file.to_owned(),
        source,
    })?;
    load_from(file, opened)
}

/// Load the state from an open file (the one inside the target, opened by
/// the writer's resolver); `file` names it in messages.
pub fn load_from(file: &Path, reader: impl io::Read) -> Result<Plan, StateError> {
    let read = |source| StateError::Read {
        file: file.to_owned(),
        source,
    };
    let Some(bytes) = crate::write::read_at_most(reader, MAX_STATE_BYTES).map_err(read)? else {
        return Err(StateError::Invalid {
            file: file.to_owned(),
            message: format!("more than {MAX_STATE_BYTES} bytes, larger than any state file"),
        });
    };
    let text = String::from_utf8(bytes).map_err(|e| StateError::Invalid {
        file: file.to_owned(),
        message: format!("not UTF-8 text (byte offset {})", e.utf8_error().valid_up_to()),
    })?;
    parse(file, &text)
}

pub fn parse(file: &Path, text: &str) -> Result<Plan, StateError> {
    let invalid = |message: String| StateError::Invalid {
        file: file.to_owned(),
        message,
    };
    let plan: Plan = if file.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?
    } else {
        serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?
    };
    if plan.version != STATE_VERSION {
        return Err(invalid(format!(
            "version {} (this harvester-sriov reads version {STATE_VERSION})",
            plan.version
        )));
    }
    for pf in &plan.pfs {
        if !crate::scan::pci::is_pci_address(&pf.address) {
            return Err(invalid(format!("pfs: {:?} is not a PCI address", pf.address)));
        }
    }
    Ok(plan)
}

/// The state file's bytes: pretty JSON, one field per line, ending in a
/// newline. An error when the plan cannot be serialised (never `null`:
/// `boot` would then enforce nothing).
pub fn render(plan: &Plan) -> Result<String, serde_json::Error> {
    document(plan)
}

fn document<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&serde_json::to_value(value)?)?;
    text.push('\n');
    Ok(text)
}

/// The state file to read when none is named: `state.json` under `root`, else
/// an older version's `state.yaml` (with a notice for the caller to print).
pub fn default_path(root: &Path) -> (PathBuf, Option<String>) {
    let at = |p: &str| root.join(p.trim_start_matches('/'));
    let json = at(crate::layout::STATE_PATH);
    let old = at(crate::layout::OLD_STATE_PATH);
    if !json.exists() && old.is_file() {
        let notice = format!(
            "notice: reading {} written by an older harvester-sriov; run `apply` (or `configure`) again to move to {} and the systemd unit",
            old.display(),
            json.display()
        );
        return (old, Some(notice));
    }
    (json, None)
}

#[cfg(test)]
mod tests {
    /// A value serde_json cannot turn into a document (a map with
    /// non-string keys) is an error, not a `null` file.
    #[test]
    fn an_unserialisable_value_is_an_error_not_null() {
        let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        assert!(super::document(&bad).is_err());
        let good: std::collections::BTreeMap<String, u8> = [("a".to_owned(), 1)].into();
        let text = super::document(&good).unwrap_or_default();
        assert_eq!(text, "{\n  \"a\": 1\n}\n");
    }
}
