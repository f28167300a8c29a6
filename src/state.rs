//! The state file: the resolved plan that `boot` enforces at every start
//! and `verify` compares with. Its format is rendered and parsed here only.
//!
//! It is JSON in `/oem/harvester-sriov/state.json`: not a `*.yaml`, which yip
//! would load as a cloud-config at every stage (mudler/yip:`pkg/executor/default.go`
//! `dirOps`). A `state.yaml` of an older version is still read, with a notice.
//!
//! # Versions
//!
//! Every state names its format version (`version`) and, from version 2, the
//! harvester-sriov that wrote it (`written_by`). [`parse`] reads every older
//! version by migrating it forward here, one step per version, and only
//! here ([`migrate`]); a version newer than this binary's is refused with
//! the writer's version, so the message says what to install.
//!
//! | version | written by | change |
//! |---|---|---|
//! | 1 | 0.1.0 | first format (`state.yaml`, then `state.json`) |
//! | 2 | 0.2.0 | `written_by` |
//! | 3 | 0.3.0 and later | per-VF settings (`pfs[].vfs`); nothing to migrate, a v2 state has none |

use std::io;
use std::path::{Path, PathBuf};

use crate::plan::{Plan, STATE_VERSION};

#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("{file}: cannot read the state file")]
    Read { file: PathBuf, source: io::Error },
    #[error(
        "{file}: no state file: harvester-sriov has not been applied on this node (or was removed); run `harvester-sriov apply --config FILE` or `harvester-sriov configure` first, or pass --state/--target where it was applied"
    )]
    Missing { file: PathBuf },
    #[error("{file}: not a harvester-sriov state file: {message}")]
    Invalid { file: PathBuf, message: String },
    #[error(
        "{file}: state version {version}, written by {writer}; this is harvester-sriov {this}, which reads state versions 1 to {current}: install {wanted} or newer",
        writer = writer.as_deref().map_or("a newer harvester-sriov".to_owned(), |w| format!("harvester-sriov {w}")),
        this = crate::VERSION,
        current = STATE_VERSION,
        wanted = writer.as_deref().map_or("the harvester-sriov that wrote it".to_owned(), |w| format!("harvester-sriov {w}")),
    )]
    Newer {
        file: PathBuf,
        version: u64,
        /// `written_by`, when it is a plausible version string.
        writer: Option<String>,
    },
}

/// What every state version has in common: read first, to decide how to
/// read the rest.
#[derive(serde::Deserialize)]
struct Header {
    version: u64,
    #[serde(default)]
    written_by: Option<serde_json::Value>,
}

/// A version string worth repeating in a message: short, and only the
/// characters of a Cargo version (a hostile file's text is not echoed).
fn plausible_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+-".contains(&b))
}

/// Bring a state of `version` (older than [`STATE_VERSION`]) to the current
/// format, one version at a time.
fn migrate(mut version: u64, state: &mut serde_json::Map<String, serde_json::Value>) {
    while version < u64::from(STATE_VERSION) {
        if version == 1 {
            // 1 -> 2: the writer is recorded. Version 1 was only ever
            // written by harvester-sriov 0.1.0 (Cargo.toml's history).
            state.insert("written_by".into(), "0.1.0".into());
        }
        // 2 -> 3: `pfs[].vfs` is new and optional; a version 2 state plans
        // no per-VF settings. The version moves so that 0.2.0, which would
        // ignore them, refuses a state that has them.
        version += 1;
        state.insert("version".into(), version.into());
    }
}

/// State files are small; anything larger is not ours (at most this many
/// bytes + 1 are read).
pub(crate) const MAX_STATE_BYTES: u64 = 4 * 1024 * 1024;

/// Open the state file `--state` names (by its name: a file the user
/// gave, not the target's own, which `write::state` finds).
pub(crate) fn open(file: &Path) -> Result<std::fs::File, StateError> {
    std::fs::File::open(file).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => StateError::Missing {
            file: file.to_owned(),
        },
        _ => StateError::Read {
            file: file.to_owned(),
            source,
        },
    })
}

/// Load the state from an open file (the one inside the target, opened by
/// the writer's resolver); `file` names it in messages.
pub(crate) fn load_from(file: &Path, reader: impl io::Read) -> Result<Plan, StateError> {
    let read = |source| StateError::Read {
        file: file.to_owned(),
        source,
    };
    let Some(bytes) = crate::bounded::read_at_most(reader, MAX_STATE_BYTES).map_err(read)? else {
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

pub(crate) fn parse(file: &Path, text: &str) -> Result<Plan, StateError> {
    let invalid = |message: String| StateError::Invalid {
        file: file.to_owned(),
        message,
    };
    let json = file.extension().is_some_and(|e| e == "json");
    let header: Option<Header> = if json {
        serde_json::from_str(text).ok()
    } else {
        serde_yaml::from_str(text).ok()
    };
    let plan: Plan = match header {
        Some(h) if h.version > u64::from(STATE_VERSION) => {
            let writer = match h.written_by {
                Some(serde_json::Value::String(w)) if plausible_version(&w) => Some(w),
                _ => None,
            };
            return Err(StateError::Newer {
                file: file.to_owned(),
                version: h.version,
                writer,
            });
        }
        Some(h) if h.version == 0 => return Err(invalid("version 0: versions start at 1".into())),
        Some(h) if h.version < u64::from(STATE_VERSION) => {
            let value: serde_json::Value = if json {
                serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?
            } else {
                serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?
            };
            let serde_json::Value::Object(mut state) = value else {
                return Err(invalid("not a mapping".into()));
            };
            migrate(h.version, &mut state);
            let mut plan: Plan = serde_json::from_value(serde_json::Value::Object(state))
                .map_err(|e| invalid(format!("version {}: {e}", h.version)))?;
            plan.migrated_from = u32::try_from(h.version).ok();
            plan
        }
        // the current version, or no readable header: serde says what is wrong, and where
        _ if json => serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?,
        _ => serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?,
    };
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
pub(crate) fn render(plan: &Plan) -> Result<String, serde_json::Error> {
    document(plan)
}

fn document<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&serde_json::to_value(value)?)?;
    text.push('\n');
    Ok(text)
}

/// Where a command reads the state: the file `--state` names, read by its
/// name, or the target's own (`--target`), found through the writer's
/// resolver (`write::state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    File(PathBuf),
    Target(PathBuf),
}

impl Source {
    /// `--state FILE` when given, else the state in `target`.
    pub(crate) fn from_flags(state: Option<&Path>, target: &Path) -> Source {
        match state {
            Some(f) => Source::File(f.to_owned()),
            None => Source::Target(target.to_owned()),
        }
    }
}

/// What is said when the state read is an older version's `state.yaml`
/// (`old`): run `apply` again to move to `new`.
pub(crate) fn older_notice(old: &Path, new: &Path) -> String {
    format!(
        "notice: reading {} written by an older harvester-sriov; run `apply` (or `configure`) again to move to {} and the systemd unit",
        old.display(),
        new.display()
    )
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
