//! The state file: the target's own found through the resolver like every
//! other read of the target (`state.json`, else an older version's
//! `state.yaml`), or the file `--state` names. The one way every command
//! finds it.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::layout::{OLD_STATE_PATH, STATE_PATH};
use crate::plan::Plan;
use crate::state::{Source, StateError};

use super::*;

/// A state file, open.
pub(crate) struct Opened {
    /// The file (for the target's own: `TARGET/<logical path>`), to name it by.
    pub(crate) file: PathBuf,
    /// An older version's `state.yaml` in the target (no `state.json` there).
    pub(crate) older: bool,
    reader: File,
}

impl Opened {
    /// Read and check it.
    pub(crate) fn load(self) -> Result<Plan, StateError> {
        crate::state::load_from(&self.file, self.reader)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Target(#[from] FsError),
}

/// The state file in `target`, when there is one.
pub(crate) fn find(target: &Path) -> Result<Option<Opened>, FsError> {
    for (logical, older) in [(STATE_PATH, false), (OLD_STATE_PATH, true)] {
        if let Some((file, reader)) = open_file(target, Path::new(logical))? {
            return Ok(Some(Opened { file, older, reader }));
        }
    }
    Ok(None)
}

/// Open the state `source` says: the named file, or the target's own.
pub(crate) fn open(source: &Source) -> Result<Opened, OpenError> {
    match source {
        Source::File(file) => Ok(Opened {
            reader: crate::state::open(file)?,
            file: file.clone(),
            older: false,
        }),
        Source::Target(root) => match find(root)? {
            Some(opened) => Ok(opened),
            None => Err(StateError::Missing {
                file: root.join(STATE_PATH.trim_start_matches('/')),
            }
            .into()),
        },
    }
}
