//! Directory handles: the target root and every directory opened under it.

#[cfg(test)]
use std::cell::Cell;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::*;

/// An open directory inside the target, and how to name it in messages.
#[derive(Debug, Clone)]
pub(super) struct Dir {
    pub(super) fd: Rc<OwnedFd>,
    /// Where it is on the host, for messages only (never opened by name).
    pub(super) display: PathBuf,
    /// `(st_dev, st_ino)`: the same directory reached two ways is one.
    pub(super) id: (u64, u64),
}

/// `(st_dev, st_ino)` of a stat result. The field types differ between
/// architectures, hence the casts.
#[allow(clippy::unnecessary_cast)]
pub(super) fn file_id(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

pub(super) const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

impl Dir {
    pub(super) fn from_fd(fd: OwnedFd, display: PathBuf) -> Result<Dir, Errno> {
        let st = rustix::fs::fstat(&fd)?;
        Ok(Dir {
            fd: Rc::new(fd),
            display,
            id: file_id(&st),
        })
    }

    /// The directory `name` in this one, never through a symlink.
    pub(super) fn open_child(&self, name: &OsStr) -> Result<Dir, FsError> {
        let display = self.path(name);
        let fd = rustix::fs::openat(&*self.fd, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
            .map_err(errno_err(&display, "open directory"))?;
        Dir::from_fd(fd, display.clone()).map_err(errno_err(&display, "open directory"))
    }

    pub(super) fn path(&self, name: &OsStr) -> PathBuf {
        self.display.join(name)
    }

    pub(super) fn stat(&self, name: &OsStr) -> Result<Option<rustix::fs::Stat>, Errno> {
        match rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn read_link(&self, name: &OsStr) -> Result<PathBuf, FsError> {
        let dest = rustix::fs::readlinkat(&*self.fd, name, Vec::new())
            .map_err(errno_err(&self.path(name), "read symbolic link"))?;
        Ok(PathBuf::from(
            <OsString as std::os::unix::ffi::OsStringExt>::from_vec(dest.into_bytes()),
        ))
    }
}

pub(super) fn file_type(st: &rustix::fs::Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// Whether this kernel has `openat2` with `RESOLVE_IN_ROOT` (Linux 5.6+;
/// a container's seccomp filter may also refuse it).
pub(super) fn openat2_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        rustix::fs::openat2(
            rustix::fs::CWD,
            ".",
            DIR_FLAGS,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
        .is_ok()
    })
}

#[cfg(test)]
thread_local! {
    /// Tests set this to run the component walk where `openat2` exists.
    pub(super) static WALK_ONLY: Cell<bool> = const { Cell::new(false) };
}

pub(super) fn use_openat2() -> bool {
    #[cfg(test)]
    if WALK_ONLY.with(Cell::get) {
        return false;
    }
    openat2_supported()
}

/// The target root, opened once per operation.
#[derive(Debug)]
pub(super) struct Root {
    pub(super) dir: Dir,
    pub(super) openat2: bool,
}

impl Root {
    pub(super) fn open(target: &Path) -> Result<Root, FsError> {
        let fd = rustix::fs::open(target, DIR_FLAGS, Mode::empty()).map_err(|e| FsError::Target {
            path: target.to_path_buf(),
            source: e.into(),
        })?;
        let dir = Dir::from_fd(fd, target.to_path_buf()).map_err(|e| FsError::Target {
            path: target.to_path_buf(),
            source: e.into(),
        })?;
        Ok(Root {
            dir,
            openat2: use_openat2(),
        })
    }
}
