//! The lock: an exclusive `flock` on the target root directory.

use std::os::fd::OwnedFd;
use std::rc::Rc;

use rustix::fs::FlockOperation;
use rustix::io::Errno;

use super::*;

/// Held for the duration of a [`commit`]; released on drop.
///
/// The lock is an exclusive `flock` on the target root directory itself:
/// it leaves no lock file behind, so `remove` can take out everything
/// `apply` wrote and a failed run on a fresh target leaves no trace.
#[derive(Debug)]
pub(crate) struct TargetLock {
    pub(super) _dir: Rc<OwnedFd>,
}

pub(super) fn lock_root(root: &Root) -> Result<TargetLock, FsError> {
    match rustix::fs::flock(&*root.dir.fd, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(TargetLock {
            _dir: root.dir.fd.clone(),
        }),
        Err(Errno::WOULDBLOCK) => Err(FsError::Locked {
            path: root.dir.display.clone(),
        }),
        Err(e) => Err(errno_err(&root.dir.display, "lock")(e)),
    }
}

/// Lock `target` as [`commit`] does (for tests: a second holder).
#[cfg(test)]
pub(crate) fn lock(target: &std::path::Path) -> Result<TargetLock, FsError> {
    lock_root(&Root::open(target)?)
}
