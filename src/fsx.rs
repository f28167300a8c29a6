//! TEMPORARY stub, replaced by the transactional writer.
use std::path::{Path, PathBuf};
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub path: PathBuf,
    pub contents: Vec<u8>,
    pub mode: u32,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Unchanged,
    Remove,
}
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<(PathBuf, Change)>,
}
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FsError(String);
fn at(t: &Path, p: &Path) -> PathBuf {
    t.join(p.strip_prefix("/").unwrap_or(p))
}
pub fn preview(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    _owned: &dyn Fn(&Path, &[u8]) -> bool,
) -> Result<Outcome, FsError> {
    let mut o = Outcome::default();
    for f in files {
        let c = match std::fs::read(at(target, &f.path)) {
            Ok(b) if b == f.contents => Change::Unchanged,
            Ok(_) => Change::Update,
            Err(_) => Change::Create,
        };
        o.changes.push((f.path.clone(), c));
    }
    for r in remove {
        if at(target, r).exists() {
            o.changes.push((r.clone(), Change::Remove));
        }
    }
    Ok(o)
}
pub fn commit(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: &dyn Fn(&Path, &[u8]) -> bool,
) -> Result<Outcome, FsError> {
    let o = preview(target, files, remove, owned)?;
    for f in files {
        let p = at(target, &f.path);
        std::fs::create_dir_all(p.parent().unwrap_or(target)).map_err(|e| FsError(e.to_string()))?;
        std::fs::write(&p, &f.contents).map_err(|e| FsError(e.to_string()))?;
    }
    for r in remove {
        let _ = std::fs::remove_file(at(target, r));
    }
    Ok(o)
}
