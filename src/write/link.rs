//! Outside the transaction: the hook's log, and the unit's enable symlink.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::*;

/// Append `bytes` to the file at `logical` (created 0600, missing parent
/// directories 0755), resolved as every managed path is, then `fsync` it.
/// For the hook's log: appending is the point, so no transaction.
pub(crate) fn append(target: &Path, logical: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let root = Root::open(target)?;
    let res = resolve(&root, logical)?;
    let mut dir = res.base.clone();
    for name in &res.missing {
        match rustix::fs::mkdirat(&*dir.fd, name.as_os_str(), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(errno_err(&dir.path(name), "create directory")(e)),
        }
        dir = dir.open_child(name)?;
    }
    let fd = rustix::fs::openat(
        &*dir.fd,
        res.name.as_os_str(),
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| match e {
        Errno::LOOP => FsError::FinalSymlink {
            path: res.host.clone(),
            dest: dir.read_link(&res.name).unwrap_or_default(),
        },
        e => errno_err(&res.host, "append to")(e),
    })?;
    let mut f = File::from(fd);
    f.write_all(bytes).map_err(io_err(&res.host, "append to"))?;
    f.sync_all().map_err(io_err(&res.host, "fsync"))
}

/// What [`remove_link`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// Nothing at that path.
    Absent,
    /// Our symlink (pointing at the expected destination): removed, or with
    /// `dry_run` would be.
    Removed,
    /// Something else is there (another link, a file): left alone.
    NotOurs,
}

/// Remove the symlink at `logical` if it points at `dest` (as `systemctl
/// enable` makes it); anything else there is left alone. Its directory is
/// resolved as every managed path is.
pub(crate) fn remove_link(
    target: &Path,
    logical: &Path,
    dest: &Path,
    dry_run: bool,
) -> Result<LinkState, FsError> {
    let (Some(parent), Some(name)) = (logical.parent(), logical.file_name()) else {
        return Err(FsError::InvalidSpec {
            path: logical.to_path_buf(),
            reason: "names no link".into(),
        });
    };
    let root = Root::open(target)?;
    let Some(dir) = resolve_dir(&root, parent)? else {
        return Ok(LinkState::Absent);
    };
    let host = dir.path(name);
    let Some(st) = dir.stat(name).map_err(errno_err(&host, "inspect"))? else {
        return Ok(LinkState::Absent);
    };
    if file_type(&st) != FileType::Symlink || dir.read_link(name)? != dest {
        return Ok(LinkState::NotOurs);
    }
    if !dry_run {
        rustix::fs::unlinkat(&*dir.fd, name, AtFlags::empty()).map_err(errno_err(&host, "remove"))?;
        rustix::fs::fsync(&*dir.fd).map_err(errno_err(&dir.display, "fsync directory"))?;
    }
    Ok(LinkState::Removed)
}

/// Remove the directory at `logical` when it is empty (resolved as every
/// managed path is): `remove` takes out our own directory once its files
/// are gone. `Ok(false)`: absent, not a directory, or not empty (then
/// something not ours is in it, and it stays).
pub(crate) fn remove_empty_dir(target: &Path, logical: &Path, dry_run: bool) -> Result<bool, FsError> {
    let (Some(parent), Some(name)) = (logical.parent(), logical.file_name()) else {
        return Ok(false);
    };
    let root = Root::open(target)?;
    let Some(dir) = resolve_dir(&root, parent)? else {
        return Ok(false);
    };
    let host = dir.path(name);
    let Some(st) = dir.stat(name).map_err(errno_err(&host, "inspect"))? else {
        return Ok(false);
    };
    if file_type(&st) != FileType::Directory {
        return Ok(false);
    }
    if dry_run {
        return Ok(true);
    }
    match rustix::fs::unlinkat(&*dir.fd, name, AtFlags::REMOVEDIR) {
        Ok(()) => {
            rustix::fs::fsync(&*dir.fd).map_err(errno_err(&dir.display, "fsync directory"))?;
            Ok(true)
        }
        Err(Errno::NOTEMPTY | Errno::EXIST) => Ok(false),
        Err(e) => Err(errno_err(&host, "remove directory")(e)),
    }
}
