//! Phase 1 (validate) and the entry points `preview` and `commit`.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::*;

pub(super) struct Planned<'a> {
    pub(super) res: Resolved,
    pub(super) change: Change,
    pub(super) contents: Option<&'a FileSpec>,
}

pub(super) type Owned<'o> = &'o dyn Fn(&Path, &[u8]) -> bool;

pub(super) fn plan<'a>(
    root: &Root,
    files: &'a [FileSpec],
    remove: &[PathBuf],
    owned: Owned<'_>,
) -> Result<Vec<Planned<'a>>, FsError> {
    let mut out = Vec::with_capacity(files.len() + remove.len());
    for f in files {
        if f.mode & !0o7777 != 0 {
            return Err(FsError::InvalidSpec {
                path: f.path.clone(),
                reason: format!("mode {:o} has bits beyond 0o7777", f.mode),
            });
        }
        let res = resolve(root, &f.path)?;
        let change = match res.parent() {
            Some(parent) if res.exists => {
                let (file, meta, prefix) = open_regular(parent, &res.name, &res.host)?;
                if !owned(&f.path, &prefix) {
                    return Err(FsError::NotOwned { path: res.host });
                }
                if meta.mode() & 0o7777 == f.mode
                    && same_contents(&res.host, &file, meta.len(), &prefix, &f.contents)?
                {
                    Change::Unchanged
                } else {
                    Change::Update
                }
            }
            _ => Change::Create,
        };
        out.push(Planned {
            res,
            change,
            contents: Some(f),
        });
    }
    for p in remove {
        let res = resolve(root, p)?;
        let Some(parent) = res.parent().filter(|_| res.exists) else {
            continue;
        };
        let (_, _, prefix) = open_regular(parent, &res.name, &res.host)?;
        if !owned(p, &prefix) {
            return Err(FsError::NotOwned { path: res.host });
        }
        out.push(Planned {
            res,
            change: Change::Remove,
            contents: None,
        });
    }
    // Two logical paths may meet on the host through symlinks.
    let mut seen = BTreeMap::new();
    for p in &out {
        if let Some(other) = seen.insert(p.res.key(), &p.res.logical) {
            return Err(FsError::InvalidSpec {
                path: p.res.host.clone(),
                reason: format!(
                    "managed twice (as {} and {})",
                    other.display(),
                    p.res.logical.display()
                ),
            });
        }
    }
    for a in &out {
        for b in &out {
            let ((a_base, a_names), (b_base, b_names)) = (a.res.key(), b.res.key());
            if a_base == b_base && b_names.len() > a_names.len() && b_names.starts_with(&a_names) {
                return Err(FsError::InvalidSpec {
                    path: a.res.host.clone(),
                    reason: format!("is both a file and a parent of {}", b.res.host.display()),
                });
            }
        }
    }
    out.sort_by(|a, b| a.res.logical.cmp(&b.res.logical));
    Ok(out)
}

pub(super) fn outcome(plan: &[Planned<'_>], warnings: Vec<String>) -> Outcome {
    Outcome {
        changes: plan.iter().map(|p| (p.res.logical.clone(), p.change)).collect(),
        warnings,
    }
}

/// Decide, without writing anything (not even the lock), what [`commit`]
/// would do. Same errors as `commit`'s validation phase.
///
/// `owned(logical_path, first_bytes)` (the first [`OWNED_PREFIX`] bytes) is
/// asked about every file that already exists at a path in `files`
/// (unchanged ones too) or `remove`; `false` stops everything with
/// [`FsError::NotOwned`]. Note that a managed binary carries no header
/// marker, so the callback must recognise it some other way (e.g. by path).
pub(crate) fn preview(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: &dyn Fn(&Path, &[u8]) -> bool,
) -> Result<Outcome, FsError> {
    let root = Root::open(target)?;
    Ok(outcome(&plan(&root, files, remove, owned)?, Vec::new()))
}

/// Write `files` and delete `remove` as one transaction: afterwards the
/// target holds either all new versions or (on error) exactly what it held
/// before. See the module doc for the phases.
pub(crate) fn commit(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: &dyn Fn(&Path, &[u8]) -> bool,
) -> Result<Outcome, FsError> {
    commit_ops(target, files, remove, owned, &Ops::default())
}

/// [`commit`] with fault injection for tests: mutating step number
/// `fail_at` (counting from 0 over phases 2–4) fails with an injected I/O
/// error. `None` is a normal commit.
#[cfg(test)]
pub(super) fn commit_with(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: &dyn Fn(&Path, &[u8]) -> bool,
    fail_at: Option<usize>,
) -> Result<Outcome, FsError> {
    commit_faults(target, files, remove, owned, fail_at.as_slice())
}

/// [`commit`] failing every step listed (to fail a rollback too).
#[cfg(test)]
pub(super) fn commit_faults(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: Owned<'_>,
    fail: &[usize],
) -> Result<Outcome, FsError> {
    commit_ops(target, files, remove, owned, &Ops::failing(fail))
}

fn commit_ops(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: Owned<'_>,
    ops: &Ops,
) -> Result<Outcome, FsError> {
    let root = Root::open(target)?;
    let _lock = lock_root(&root)?;
    let mut warnings = clean_stale(&root, files, remove)?;
    let plan = plan(&root, files, remove, owned)?;
    warnings.extend(execute(ops, &plan)?);
    Ok(outcome(&plan, warnings))
}
