//! The transaction's vocabulary: what we want (`FileSpec`), what happens to each
//! file (`Change`), what a run reports (`Outcome`) and how it fails (`FsError`).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

/// Symlinks followed while resolving one path before we call it a loop
/// (the kernel's `MAXSYMLINKS`).
pub(crate) const MAX_SYMLINK_HOPS: usize = 40;
/// Temporary and backup files sit next to their file, named `.NAME` + suffix.
pub(super) const TMP_SUFFIX: &str = ".harvester-sriov.tmp";
pub(super) const BAK_SUFFIX: &str = ".harvester-sriov.bak";
/// Linux `NAME_MAX`.
pub(super) const NAME_MAX: usize = 255;

pub(crate) use crate::render::FileSpec;

/// What happens (or would happen) to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Change {
    Create,
    Update,
    Unchanged,
    Remove,
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update => "update",
            Change::Unchanged => "unchanged",
            Change::Remove => "remove",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of [`preview`] or [`commit`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// One entry per file in `files` and per *existing* path in `remove`
    /// (a path to remove that is already absent is left out), sorted by
    /// path. Paths are the logical ones (`/oem/...`), not host paths.
    pub(crate) changes: Vec<(PathBuf, Change)>,
    /// Things repaired or left behind that did not stop the run, one line
    /// each, naming the path.
    pub(crate) warnings: Vec<String>,
}

#[cfg(test)]
impl Outcome {
    /// True when nothing would be (or was) written or removed.
    pub(crate) fn is_noop(&self) -> bool {
        self.changes.iter().all(|(_, c)| *c == Change::Unchanged)
    }

    pub(crate) fn get(&self, path: &Path) -> Option<Change> {
        self.changes.iter().find(|(p, _)| p == path).map(|(_, c)| *c)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FsError {
    #[error(
        "{path}: cannot use as the target root; pass --target pointing at the mounted root of the installed system"
    )]
    Target { path: PathBuf, source: io::Error },
    #[error("{path}: {reason}; this is a bug in harvester-sriov, please report it")]
    InvalidSpec { path: PathBuf, reason: String },
    #[error(
        "{path}: more than {MAX_SYMLINK_HOPS} symbolic links while resolving {logical} inside the target; fix the symlink loop and re-run"
    )]
    SymlinkLoop { path: PathBuf, logical: PathBuf },
    #[error(
        "{path}: is a symbolic link (to {dest}); harvester-sriov never writes through symlinks, replace it with a regular file or remove it and re-run"
    )]
    FinalSymlink { path: PathBuf, dest: PathBuf },
    #[error("{path}: symbolic link to {dest} cannot be followed ({reason}); fix or remove it and re-run")]
    BadSymlink {
        path: PathBuf,
        dest: PathBuf,
        reason: &'static str,
    },
    #[error("{path}: is not a directory, but {logical} needs it to be one; move it away and re-run")]
    NotADirectory { path: PathBuf, logical: PathBuf },
    #[error("{path}: is a directory where harvester-sriov manages a file; move it away and re-run")]
    IsDirectory { path: PathBuf },
    #[error(
        "{path}: is not a regular file (device, FIFO or socket) where harvester-sriov manages a file; move it away and re-run"
    )]
    NotRegular { path: PathBuf },
    #[error(
        "{path}: exists but was not written by harvester-sriov, refusing to touch it; move it away (merging its settings by hand if needed) and re-run"
    )]
    NotOwned { path: PathBuf },
    #[error(
        "another harvester-sriov run holds {path}; wait for it to finish and re-run (if none is running, see who has the file open with `fuser {path}`)"
    )]
    Locked { path: PathBuf },
    #[error(
        "{path}: cannot {op}; check that the target is mounted read-write, has free space, and that you run as root"
    )]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error(
        "{path}: more than {limit} bytes, larger than any file harvester-sriov writes; move it away and re-run"
    )]
    TooLarge { path: PathBuf, limit: u64 },
    #[error(
        "rolling back a failed write left the target half-updated ({}); fix these paths by hand or re-run harvester-sriov to finish the job",
        leftovers.join("; ")
    )]
    RollbackFailed {
        #[source]
        cause: Box<FsError>,
        leftovers: Vec<String>,
    },
}

pub(super) fn io_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> FsError {
    let path = path.to_path_buf();
    move |source| FsError::Io { path, op, source }
}

pub(super) fn errno_err(path: &Path, op: &'static str) -> impl FnOnce(Errno) -> FsError {
    let path = path.to_path_buf();
    move |e| FsError::Io {
        path,
        op,
        source: e.into(),
    }
}
