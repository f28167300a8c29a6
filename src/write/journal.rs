//! Phases 2-4: stage, switch, clean up, and the rollback journal.

#[cfg(test)]
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::*;

/// The mutating file-system steps. Every one acts on a directory handle;
/// the path is only for messages.
///
/// In unit tests every step is a numbered fail point ([`Faults`]); in every
/// other build `Ops` is empty and the steps have no fail points at all.
#[derive(Default)]
pub(super) struct Ops {
    #[cfg(test)]
    pub(super) faults: Faults,
}

/// Fault injection, for the unit tests only: the steps listed in `fail`
/// (numbered from 0 in the order they run) fail with an injected I/O error.
#[cfg(test)]
#[derive(Default)]
pub(super) struct Faults {
    pub(super) fail: Vec<usize>,
    pub(super) step: Cell<usize>,
}

#[cfg(test)]
impl Ops {
    /// Fail every step listed.
    pub(super) fn failing(fail: &[usize]) -> Ops {
        Ops {
            faults: Faults {
                fail: fail.to_vec(),
                step: Cell::new(0),
            },
        }
    }

    /// One fail point: count the step, and fail it when listed.
    fn tick(&self, op: &str, path: &Path) -> io::Result<()> {
        let n = self.faults.step.get();
        self.faults.step.set(n + 1);
        if self.faults.fail.contains(&n) {
            return Err(io::Error::other(format!(
                "injected fault at step {n} ({op} {})",
                path.display()
            )));
        }
        Ok(())
    }
}

/// A step that failed, and whether it left something of ours behind
/// (a directory made before its chmod failed, a temp file created before
/// its write failed) that the rollback must take away.
pub(super) type Step<T> = Result<T, (io::Error, bool)>;

impl Ops {
    /// `mkdirat` + `fchmod` 0755 (the umask may have cleared bits).
    pub(super) fn create_dir(&self, parent: &Dir, name: &OsStr) -> Step<Dir> {
        #[cfg(test)]
        self.tick("mkdir", &parent.path(name)).map_err(|e| (e, false))?;
        rustix::fs::mkdirat(&*parent.fd, name, Mode::from_raw_mode(0o755)).map_err(|e| (e.into(), false))?;
        #[cfg(test)]
        self.tick("chmod", &parent.path(name)).map_err(|e| (e, true))?;
        let dir = parent
            .open_child(name)
            .map_err(|e| (io::Error::other(e.to_string()), true))?;
        rustix::fs::fchmod(&*dir.fd, Mode::from_raw_mode(0o755)).map_err(|e| (e.into(), true))?;
        Ok(dir)
    }

    pub(super) fn write_temp(&self, dir: &Dir, name: &OsStr, data: &[u8], mode: u32) -> Step<()> {
        #[cfg(test)]
        self.tick("create", &dir.path(name)).map_err(|e| (e, false))?;
        let fd = rustix::fs::openat(
            &*dir.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| (e.into(), false))?;
        let mut f = File::from(fd);
        let created = |e| (e, true);
        #[cfg(test)]
        self.tick("write", &dir.path(name)).map_err(created)?;
        f.write_all(data).map_err(created)?;
        #[cfg(test)]
        self.tick("chmod", &dir.path(name)).map_err(created)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(created)?;
        #[cfg(test)]
        self.tick("fsync", &dir.path(name)).map_err(created)?;
        f.sync_all().map_err(created)
    }

    /// Hard link, or a synced copy where the file system has no hard links.
    pub(super) fn backup(&self, dir: &Dir, from: &OsStr, to: &OsStr) -> io::Result<()> {
        #[cfg(test)]
        self.tick("link", &dir.path(to))?;
        let fd = &*dir.fd;
        match rustix::fs::linkat(fd, from, fd, to, AtFlags::empty()) {
            Err(Errno::PERM | Errno::OPNOTSUPP) => {
                let r = (|| {
                    let mut src =
                        open_in(dir, from, &dir.path(from)).map_err(|e| io::Error::other(e.to_string()))?;
                    let out = rustix::fs::openat(
                        fd,
                        to,
                        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::from_raw_mode(0o600),
                    )?;
                    let mut out = File::from(out);
                    io::copy(&mut src, &mut out)?;
                    out.set_permissions(src.metadata()?.permissions())?;
                    out.sync_all()
                })();
                if r.is_err() {
                    let _ = rustix::fs::unlinkat(fd, to, AtFlags::empty());
                }
                r
            }
            r => r.map_err(io::Error::from),
        }
    }

    pub(super) fn rename(&self, dir: &Dir, from: &OsStr, to: &OsStr) -> io::Result<()> {
        #[cfg(test)]
        self.tick("rename", &dir.path(to))?;
        Ok(rustix::fs::renameat(&*dir.fd, from, &*dir.fd, to)?)
    }

    pub(super) fn remove_file(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        #[cfg(test)]
        self.tick("unlink", &dir.path(name))?;
        Ok(rustix::fs::unlinkat(&*dir.fd, name, AtFlags::empty())?)
    }

    pub(super) fn remove_dir(&self, parent: &Dir, name: &OsStr) -> io::Result<()> {
        #[cfg(test)]
        self.tick("rmdir", &parent.path(name))?;
        Ok(rustix::fs::unlinkat(&*parent.fd, name, AtFlags::REMOVEDIR)?)
    }

    pub(super) fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        #[cfg(test)]
        self.tick("fsync directory", &dir.display)?;
        Ok(rustix::fs::fsync(&*dir.fd)?)
    }
}

/// A name in a directory, held by the directory's handle.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) dir: Dir,
    pub(super) name: OsString,
}

impl Entry {
    pub(super) fn new(dir: &Dir, name: &OsStr) -> Entry {
        Entry {
            dir: dir.clone(),
            name: name.to_owned(),
        }
    }
    pub(super) fn path(&self) -> PathBuf {
        self.dir.path(&self.name)
    }
}

/// A phase-3 step done, to undo on failure. `main` and `bak` are names in
/// the same directory.
pub(super) enum Done {
    /// Hard-link backup made, file not yet replaced.
    Backup {
        at: Entry,
    },
    Replaced {
        main: Entry,
        bak: OsString,
    },
    Created {
        main: Entry,
    },
    Removed {
        main: Entry,
        bak: OsString,
    },
}

#[derive(Default)]
pub(super) struct Journal {
    /// Directories this run made, parent first.
    pub(super) created_dirs: Vec<Entry>,
    /// The same, by `(base directory, names below it)`, for reuse.
    pub(super) made: BTreeMap<((u64, u64), Vec<OsString>), Dir>,
    pub(super) temps: Vec<Entry>,
    pub(super) done: Vec<Done>,
    /// Directories whose entries changed, to fsync.
    pub(super) touched: BTreeMap<(u64, u64), Dir>,
}

impl Journal {
    pub(super) fn touch(&mut self, d: &Dir) {
        self.touched.entry(d.id).or_insert_with(|| d.clone());
    }
}

pub(super) fn execute(ops: &Ops, plan: &[Planned<'_>]) -> Result<Vec<String>, FsError> {
    let mut j = Journal::default();
    let result = stage(ops, plan, &mut j).and_then(|dirs| switch(ops, plan, &dirs, &mut j));
    if let Err(cause) = result {
        let leftovers = rollback(ops, &mut j);
        return Err(if leftovers.is_empty() {
            cause
        } else {
            FsError::RollbackFailed {
                cause: Box::new(cause),
                leftovers,
            }
        });
    }
    // Phase 4: committed; backups are garbage now.
    let mut warnings = Vec::new();
    for d in &j.done {
        if let Done::Replaced { main, bak } | Done::Removed { main, bak } = d
            && let Err(e) = ops.remove_file(&main.dir, bak)
        {
            warnings.push(format!(
                "{}: could not delete backup ({e}); the next harvester-sriov run removes it",
                main.dir.path(bak).display()
            ));
        }
    }
    Ok(warnings)
}

/// Phase 2: directories and temp files. Returns each planned file's
/// directory (`None` for an unchanged one).
pub(super) fn stage(ops: &Ops, plan: &[Planned<'_>], j: &mut Journal) -> Result<Vec<Option<Dir>>, FsError> {
    let mut dirs = Vec::with_capacity(plan.len());
    for p in plan {
        if p.change == Change::Unchanged {
            dirs.push(None);
            continue;
        }
        let mut dir = p.res.base.clone();
        for i in 0..p.res.missing.len() {
            let key = (p.res.base.id, p.res.missing[..=i].to_vec());
            if let Some(made) = j.made.get(&key) {
                dir = made.clone();
                continue;
            }
            let name = &p.res.missing[i];
            j.touch(&dir);
            match ops.create_dir(&dir, name) {
                Ok(new) => {
                    j.created_dirs.push(Entry::new(&dir, name));
                    j.made.insert(key, new.clone());
                    dir = new;
                }
                Err((e, made)) => {
                    if made {
                        j.created_dirs.push(Entry::new(&dir, name));
                    }
                    return Err(io_err(&dir.path(name), "create directory")(e));
                }
            }
        }
        j.touch(&dir);
        if let Some(spec) = p.contents {
            let tmp = p.res.tmp();
            if let Err((e, created)) = ops.write_temp(&dir, &tmp, &spec.contents, spec.mode) {
                if created {
                    j.temps.push(Entry::new(&dir, &tmp));
                }
                return Err(io_err(&dir.path(&tmp), "write temporary file")(e));
            }
            j.temps.push(Entry::new(&dir, &tmp));
        }
        dirs.push(Some(dir));
    }
    Ok(dirs)
}

/// Phase 3: switch every file, then make it durable.
pub(super) fn switch(
    ops: &Ops,
    plan: &[Planned<'_>],
    dirs: &[Option<Dir>],
    j: &mut Journal,
) -> Result<(), FsError> {
    for (p, dir) in plan.iter().zip(dirs) {
        let Some(dir) = dir else { continue };
        let main = Entry::new(dir, &p.res.name);
        let (tmp, bak) = (p.res.tmp(), p.res.bak());
        let forget_temp = |j: &mut Journal| j.temps.retain(|t| !(t.dir.id == dir.id && t.name == tmp));
        match p.change {
            Change::Unchanged => {}
            Change::Create => {
                ops.rename(dir, &tmp, &main.name)
                    .map_err(io_err(&main.path(), "move new file into place"))?;
                forget_temp(j);
                j.done.push(Done::Created { main });
            }
            Change::Update => {
                ops.backup(dir, &main.name, &bak)
                    .map_err(io_err(&dir.path(&bak), "back up the old version"))?;
                j.done.push(Done::Backup {
                    at: Entry::new(dir, &bak),
                });
                ops.rename(dir, &tmp, &main.name)
                    .map_err(io_err(&main.path(), "move new file into place"))?;
                forget_temp(j);
                j.done.pop();
                j.done.push(Done::Replaced { main, bak });
            }
            Change::Remove => {
                ops.rename(dir, &main.name, &bak)
                    .map_err(io_err(&main.path(), "remove"))?;
                j.done.push(Done::Removed { main, bak });
            }
        }
    }
    for d in j.touched.values() {
        ops.sync_dir(d).map_err(io_err(&d.display, "sync directory"))?;
    }
    Ok(())
}

/// Undo phases 2-3. Returns what could not be undone, one line per path.
pub(super) fn rollback(ops: &Ops, j: &mut Journal) -> Vec<String> {
    let mut left = Vec::new();
    let mut note = |p: PathBuf, what: &str, r: io::Result<()>| {
        if let Err(e) = r {
            left.push(format!("{}: could not {what}: {e}", p.display()));
        }
    };
    while let Some(d) = j.done.pop() {
        match d {
            Done::Backup { at } => note(at.path(), "delete backup", ops.remove_file(&at.dir, &at.name)),
            Done::Replaced { main, bak } | Done::Removed { main, bak } => note(
                main.path(),
                "restore the old version from its backup",
                ops.rename(&main.dir, &bak, &main.name),
            ),
            Done::Created { main } => note(
                main.path(),
                "delete new file",
                ops.remove_file(&main.dir, &main.name),
            ),
        }
    }
    for t in j.temps.drain(..) {
        note(
            t.path(),
            "delete temporary file",
            ops.remove_file(&t.dir, &t.name),
        );
    }
    let mut gone = BTreeSet::new();
    for d in j.created_dirs.drain(..).rev() {
        match ops.remove_dir(&d.dir, &d.name) {
            Err(e) if e.raw_os_error() == Some(Errno::NOTEMPTY.raw_os_error()) => {}
            Ok(()) => {
                if let Some(made) = j.made.values().find(|m| m.display == d.path()) {
                    gone.insert(made.id);
                }
            }
            r => note(d.path(), "remove directory created by this run", r),
        }
    }
    for d in j.touched.values().filter(|d| !gone.contains(&d.id)) {
        // Best effort: the state is right, only its durability is at stake.
        let _ = ops.sync_dir(d);
    }
    left
}
