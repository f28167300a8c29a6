//! Reads of the target, every one through the resolver, and bounded reads.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

pub(crate) use crate::bounded::read_at_most;

use super::*;

/// How much of an existing file the `owned` callback sees: enough for any
/// header marker, without loading a multi-megabyte binary into memory.
pub(crate) const OWNED_PREFIX: usize = 4096;

/// Open the regular file `name` in `parent`, never through a symlink (one
/// swapped in since resolution is refused, not followed) and without
/// blocking on a FIFO swapped in.
pub(super) fn open_in(parent: &Dir, name: &OsStr, host: &Path) -> Result<File, FsError> {
    let fd = rustix::fs::openat(
        &*parent.fd,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::LOOP => FsError::FinalSymlink {
            path: host.to_path_buf(),
            dest: parent.read_link(name).unwrap_or_default(),
        },
        e => errno_err(host, "read")(e),
    })?;
    let f = File::from(fd);
    let m = f.metadata().map_err(io_err(host, "read"))?;
    if !m.is_file() {
        return Err(FsError::NotRegular {
            path: host.to_path_buf(),
        });
    }
    Ok(f)
}

/// An existing regular file: its handle, its metadata and its first
/// [`OWNED_PREFIX`] bytes.
pub(super) fn open_regular(
    parent: &Dir,
    name: &OsStr,
    host: &Path,
) -> Result<(File, std::fs::Metadata, Vec<u8>), FsError> {
    let f = open_in(parent, name, host)?;
    let m = f.metadata().map_err(io_err(host, "read"))?;
    let mut prefix = Vec::with_capacity(OWNED_PREFIX.min(usize::try_from(m.len()).unwrap_or(0)));
    (&f).take(OWNED_PREFIX as u64)
        .read_to_end(&mut prefix)
        .map_err(io_err(host, "read"))?;
    Ok((f, m, prefix))
}

/// Open the regular file at `logical` inside `target`, resolved exactly as
/// the writer resolves it (module doc): `Ok(None)` when it (or a directory
/// on the way) does not exist. Returns the path to name it by
/// (`TARGET/<logical>`) and the open file. For every read of the target
/// outside the writer: `verify`, `plan`'s diff, `configure`'s saved config,
/// `remove`'s look at the installed yip file.
pub(crate) fn open_file(target: &Path, logical: &Path) -> Result<Option<(PathBuf, File)>, FsError> {
    let root = Root::open(target)?;
    let res = resolve(&root, logical)?;
    match res.parent() {
        Some(parent) if res.exists => Ok(Some((res.host.clone(), open_in(parent, &res.name, &res.host)?))),
        _ => Ok(None),
    }
}

/// The names in the directory at `logical` inside `target` (resolved as
/// the writer resolves it), sorted; empty when it does not exist. Only
/// names valid as UTF-8: every name the tool looks for is.
pub(crate) fn list_dir(target: &Path, logical: &Path) -> Result<Vec<String>, FsError> {
    let root = Root::open(target)?;
    let Some(dir) = resolve_dir(&root, logical)? else {
        return Ok(Vec::new());
    };
    let entries = rustix::fs::Dir::read_from(&*dir.fd).map_err(errno_err(&dir.display, "list"))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(errno_err(&dir.display, "list"))?;
        if let Ok(name) = entry.file_name().to_str()
            && name != "."
            && name != ".."
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The first [`OWNED_PREFIX`] bytes of the regular file at `logical` inside
/// `target` (resolved as the writer resolves it), as the writer's `owned`
/// check sees them; `Ok(None)` when it does not exist.
pub(crate) fn read_prefix(target: &Path, logical: &Path) -> Result<Option<Vec<u8>>, FsError> {
    let Some((host, file)) = open_file(target, logical)? else {
        return Ok(None);
    };
    let mut prefix = Vec::new();
    file.take(OWNED_PREFIX as u64)
        .read_to_end(&mut prefix)
        .map_err(io_err(&host, "read"))?;
    Ok(Some(prefix))
}

/// [`open_file`] and read it whole when it holds at most `limit` bytes.
pub(crate) fn read_file(
    target: &Path,
    logical: &Path,
    limit: u64,
) -> Result<Option<(PathBuf, Vec<u8>)>, FsError> {
    let Some((host, file)) = open_file(target, logical)? else {
        return Ok(None);
    };
    match read_at_most(file, limit).map_err(io_err(&host, "read"))? {
        Some(bytes) => Ok(Some((host, bytes))),
        None => Err(FsError::TooLarge { path: host, limit }),
    }
}

/// Whether the rest of `file` (after `prefix`) holds exactly `expected`'s
/// remaining bytes, compared in chunks: no second copy of a large file.
pub(super) fn same_contents(
    path: &Path,
    mut file: &File,
    len: u64,
    prefix: &[u8],
    expected: &[u8],
) -> Result<bool, FsError> {
    if len != expected.len() as u64 || !expected.starts_with(prefix) {
        return Ok(false);
    }
    let mut rest = &expected[prefix.len()..];
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path, "read"))?;
        if n == 0 {
            return Ok(rest.is_empty());
        }
        if n > rest.len() || buf[..n] != rest[..n] {
            return Ok(false);
        }
        rest = &rest[n..];
    }
}

// ---------------------------------------------------------------------------
