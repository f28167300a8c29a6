//! The state file: the resolved plan that `boot` enforces at every start
//! and `verify` compares with. Its format is rendered and parsed here only.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::plan::{Plan, STATE_VERSION};
use crate::render::{header, yaml};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{file}: cannot read the state file: {source}")]
    Read { file: PathBuf, source: io::Error },
    #[error("{file}: not a harvester-sriov state file: {message}")]
    Invalid { file: PathBuf, message: String },
}

/// State files are small; anything larger is not ours.
const MAX_STATE_BYTES: u64 = 1024 * 1024;

/// Load and check the state written by `apply`.
pub fn load(file: &Path) -> Result<Plan, StateError> {
    let read = |source| StateError::Read {
        file: file.to_owned(),
        source,
    };
    let meta = fs::metadata(file).map_err(read)?;
    if meta.len() > MAX_STATE_BYTES {
        return Err(StateError::Invalid {
            file: file.to_owned(),
            message: format!("{} bytes, larger than any state file", meta.len()),
        });
    }
    let text = fs::read_to_string(file).map_err(read)?;
    parse(file, &text)
}

pub fn parse(file: &Path, text: &str) -> Result<Plan, StateError> {
    let invalid = |message: String| StateError::Invalid {
        file: file.to_owned(),
        message,
    };
    let plan: Plan = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
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

/// The state file's bytes.
pub fn render(plan: &Plan) -> String {
    let value = serde_json::to_value(plan).unwrap_or(Value::Null);
    format!("{}{}", header(), yaml::to_string(&value))
}
