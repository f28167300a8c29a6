//! Leftovers of a killed run: stale temps and backups next to managed paths.

use std::path::PathBuf;

use rustix::fs::{AtFlags, FileType};

use super::*;

pub(super) fn clean_stale(
    root: &Root,
    files: &[FileSpec],
    remove: &[PathBuf],
) -> Result<Vec<String>, FsError> {
    let mut warnings = Vec::new();
    for logical in files.iter().map(|f| &f.path).chain(remove) {
        // Unresolvable paths are reported by the validation phase.
        let Ok(res) = resolve(root, logical) else {
            continue;
        };
        let Some(dir) = res.parent() else {
            continue;
        };
        let fd = &*dir.fd;
        let (tmp, bak) = (res.tmp(), res.bak());
        let (tmp_path, bak_path) = (dir.path(&tmp), dir.path(&bak));
        if let Ok(Some(st)) = dir.stat(&tmp)
            && file_type(&st) != FileType::Directory
        {
            rustix::fs::unlinkat(fd, &tmp, AtFlags::empty())
                .map_err(errno_err(&tmp_path, "remove stale temporary file"))?;
            warnings.push(format!(
                "{}: removed a temporary file left by an interrupted run",
                tmp_path.display()
            ));
        }
        match dir.stat(&bak) {
            Ok(Some(st)) if file_type(&st) == FileType::RegularFile && !res.exists => {
                rustix::fs::renameat(fd, &bak, fd, &res.name)
                    .map_err(errno_err(&bak_path, "restore backup"))?;
                warnings.push(format!(
                    "{}: restored from {} left by an interrupted run",
                    res.host.display(),
                    bak_path.display()
                ));
            }
            Ok(Some(st)) if file_type(&st) != FileType::Directory => {
                rustix::fs::unlinkat(fd, &bak, AtFlags::empty())
                    .map_err(errno_err(&bak_path, "remove stale backup"))?;
                warnings.push(format!(
                    "{}: removed a backup left by an interrupted run",
                    bak_path.display()
                ));
            }
            _ => {}
        }
    }
    Ok(warnings)
}
