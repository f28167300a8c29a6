//! Put files into the target root (the installed system) as one
//! transaction, without ever writing outside it.
//!
//! # Path resolution: one resolver, directory handles only
//!
//! Every managed path is absolute *inside* the target (`/oem/x.yaml` means
//! `TARGET/oem/x.yaml`) and is resolved chroot-style. Every access to the
//! target — the writer's, and the reads of `verify`, `plan`'s diff and the
//! hook's config lookup ([`open_file`]) — goes through this one resolver:
//!
//! - a symlink in a directory position is followed *relative to the
//!   target*: an absolute link destination is re-rooted at the target, `..`
//!   never climbs above it (as in a chroot, `/..` is `/`), and more than
//!   [`MAX_SYMLINK_HOPS`] links is an error (loops);
//! - a symlink as the final component is an error: we never write, read or
//!   delete through a symlink;
//! - a regular file in a directory position, a directory or special file in
//!   the final position, are errors naming the offending path.
//!
//! So a target whose `/oem` links to `/` gets its files at `TARGET/x.yaml`,
//! never at the host's `/x.yaml`, and `/oem -> /data/oem` means
//! `TARGET/data/oem` for the writer and for every reader alike.
//!
//! Resolution never goes by path name after the target root is opened:
//! the file's directory is opened with `openat2(RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS)` relative to the root's handle where the kernel
//! has it (Linux 5.6+); otherwise, and to say exactly what is wrong when
//! that fails, the path is walked one component at a time with `openat(...,
//! O_NOFOLLOW | O_DIRECTORY)` relative to the handle of the directory
//! before it, symlinks read with `readlinkat` and followed by this code
//! (absolute ones re-rooted, `..` at the root staying at the root, exactly
//! as `RESOLVE_IN_ROOT` does, so both ways give the same answer). Every
//! create, write, rename, link, unlink and fsync then acts on that
//! directory handle (`openat`, `renameat`, `linkat`, `unlinkat`,
//! `mkdirat`), and files are opened with `O_NOFOLLOW`: a directory swapped
//! for a symlink by another process after resolution is not followed.
//!
//! //! # Transaction
//!
//! [`commit`] takes an exclusive `flock` on the target root directory
//! (non-blocking, so a second run fails fast with [`FsError::Locked`]; no lock
//! file is left behind), then:
//!
//! 1. **validate**: resolve every path, read every existing file, ask
//!    `owned` about it, decide [`Change`]s. Nothing is touched; [`preview`]
//!    is exactly this phase (and takes no lock).
//! 2. **stage**: create missing parent directories (0755), write each new
//!    content to `.NAME.harvester-sriov.tmp` in the destination directory
//!    (created exclusively), set its mode, `fsync` it.
//! 3. **switch**: for an update, hard-link the old file to
//!    `.NAME.harvester-sriov.bak`, then rename the temp over it; for a
//!    create, rename the temp into place; for a removal, rename the file to
//!    its backup name. Then `fsync` every touched directory.
//! 4. **clean up**: delete the backups.
//!
//! A failure in phases 2–3 rolls back: backups are renamed back over their
//! files (the old inode returns, so even mtime and inode number are as
//! before), created files and temps are deleted, directories created by this
//! run are removed (if empty). Phase 4 runs after the commit point: a backup
//! that cannot be deleted becomes a warning in [`Outcome::warnings`] and the
//! next run removes it. If the rollback itself fails, the error is
//! [`FsError::RollbackFailed`], listing what is left over.
//!
//! Unchanged files (same bytes and mode) are not rewritten at all.
//!
//! # Leftovers of a killed run
//!
//! Before phase 1, [`commit`] looks next to each managed path for a stale
//! `.NAME.harvester-sriov.tmp` (deleted: it never became visible) and
//! `.NAME.harvester-sriov.bak`. A stale backup next to an existing file is
//! deleted (the file is a complete old or new version either way, and this
//! run rewrites it to the wanted state). A stale backup whose file is
//! *missing* is renamed back into place: the killed run was removing it,
//! and restoring means no data is ever lost — if this run still wants it
//! removed, it is removed again, through the owned check. Every such repair
//! is reported in [`Outcome::warnings`]. These repairs happen before the
//! transaction and stand even if it then fails (they only ever delete our
//! own garbage or put our own file back). [`preview`] does not repair and
//! so may report `Create` where `commit` will then say `Update`. Stale
//! files next to paths this run does not manage are left alone.
//!
//! The lock is a `flock` on the target root directory: no lock file, so a
//! failure leaves no trace and `remove` leaves nothing of ours behind.
//!
//! # Testing hook
//!
//! The unit tests' `commit_with` takes `fail_at: Option<usize>`: every
//! mutating step of phases 2–4 (create directory, create temp, write,
//! chmod, fsync, link, rename, unlink, fsync directory) is numbered from 0
//! and step `fail_at` fails with an injected I/O error. Rollback steps
//! count too but run after the fault, so they succeed (the tests also fail
//! rollback steps, through a variant taking a list of steps). They run
//! both with `openat2` and with the component walk.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Symlinks followed while resolving one path before we call it a loop
/// (the kernel's `MAXSYMLINKS`).
pub const MAX_SYMLINK_HOPS: usize = 40;
/// Temporary and backup files sit next to their file, named `.NAME` + suffix.
const TMP_SUFFIX: &str = ".harvester-sriov.tmp";
const BAK_SUFFIX: &str = ".harvester-sriov.bak";
/// Linux `NAME_MAX`.
const NAME_MAX: usize = 255;

/// One file we want in the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Absolute path inside the target, e.g. `/oem/95_harvester-sriov.yaml`.
    pub path: PathBuf,
    pub contents: Vec<u8>,
    /// Permission bits (at most `0o7777`), e.g. `0o644`, `0o755`.
    pub mode: u32,
}

/// What happens (or would happen) to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Create,
    Update,
    Unchanged,
    Remove,
}

impl Change {
    pub fn as_str(self) -> &'static str {
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
pub struct Outcome {
    /// One entry per file in `files` and per *existing* path in `remove`
    /// (a path to remove that is already absent is left out), sorted by
    /// path. Paths are the logical ones (`/oem/...`), not host paths.
    pub changes: Vec<(PathBuf, Change)>,
    /// Things repaired or left behind that did not stop the run, one line
    /// each, naming the path.
    pub warnings: Vec<String>,
}

#[cfg(test)]
impl Outcome {
    /// True when nothing would be (or was) written or removed.
    pub fn is_noop(&self) -> bool {
        self.changes.iter().all(|(_, c)| *c == Change::Unchanged)
    }

    pub fn get(&self, path: &Path) -> Option<Change> {
        self.changes.iter().find(|(p, _)| p == path).map(|(_, c)| *c)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
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

fn io_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> FsError {
    let path = path.to_path_buf();
    move |source| FsError::Io { path, op, source }
}

fn errno_err(path: &Path, op: &'static str) -> impl FnOnce(Errno) -> FsError {
    let path = path.to_path_buf();
    move |e| FsError::Io {
        path,
        op,
        source: e.into(),
    }
}

// ---------------------------------------------------------------------------
// Directory handles

/// An open directory inside the target, and how to name it in messages.
#[derive(Debug, Clone)]
struct Dir {
    fd: Rc<OwnedFd>,
    /// Where it is on the host, for messages only (never opened by name).
    display: PathBuf,
    /// `(st_dev, st_ino)`: the same directory reached two ways is one.
    id: (u64, u64),
}

/// `(st_dev, st_ino)` of a stat result. The field types differ between
/// architectures, hence the casts.
#[allow(clippy::unnecessary_cast)]
fn file_id(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

impl Dir {
    fn from_fd(fd: OwnedFd, display: PathBuf) -> Result<Dir, Errno> {
        let st = rustix::fs::fstat(&fd)?;
        Ok(Dir {
            fd: Rc::new(fd),
            display,
            id: file_id(&st),
        })
    }

    /// The directory `name` in this one, never through a symlink.
    fn open_child(&self, name: &OsStr) -> Result<Dir, FsError> {
        let display = self.path(name);
        let fd = rustix::fs::openat(&*self.fd, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
            .map_err(errno_err(&display, "open directory"))?;
        Dir::from_fd(fd, display.clone()).map_err(errno_err(&display, "open directory"))
    }

    fn path(&self, name: &OsStr) -> PathBuf {
        self.display.join(name)
    }

    fn stat(&self, name: &OsStr) -> Result<Option<rustix::fs::Stat>, Errno> {
        match rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_link(&self, name: &OsStr) -> Result<PathBuf, FsError> {
        let dest = rustix::fs::readlinkat(&*self.fd, name, Vec::new())
            .map_err(errno_err(&self.path(name), "read symbolic link"))?;
        Ok(PathBuf::from(
            <OsString as std::os::unix::ffi::OsStringExt>::from_vec(dest.into_bytes()),
        ))
    }
}

fn file_type(st: &rustix::fs::Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// Whether this kernel has `openat2` with `RESOLVE_IN_ROOT` (Linux 5.6+;
/// a container's seccomp filter may also refuse it).
fn openat2_supported() -> bool {
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
    static WALK_ONLY: Cell<bool> = const { Cell::new(false) };
}

fn use_openat2() -> bool {
    #[cfg(test)]
    if WALK_ONLY.with(Cell::get) {
        return false;
    }
    openat2_supported()
}

/// The target root, opened once per operation.
#[derive(Debug)]
struct Root {
    dir: Dir,
    openat2: bool,
}

impl Root {
    fn open(target: &Path) -> Result<Root, FsError> {
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

// ---------------------------------------------------------------------------
// Resolution

/// A managed path resolved to a directory handle.
#[derive(Debug)]
struct Resolved {
    logical: PathBuf,
    /// `TARGET/<logical>`, for messages.
    host: PathBuf,
    /// The deepest directory that exists on the way: the file's parent
    /// when `missing` is empty.
    base: Dir,
    /// Directories to create below `base`, parent first.
    missing: Vec<OsString>,
    name: OsString,
    /// Whether the final component exists (a regular file).
    exists: bool,
}

impl Resolved {
    /// The open parent directory, `None` when it does not exist yet.
    fn parent(&self) -> Option<&Dir> {
        self.missing.is_empty().then_some(&self.base)
    }

    /// Identity on the host: two logical paths that meet through symlinks
    /// have the same key.
    fn key(&self) -> ((u64, u64), Vec<OsString>) {
        let mut names = self.missing.clone();
        names.push(self.name.clone());
        (self.base.id, names)
    }

    fn sibling(&self, suffix: &str) -> OsString {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(suffix);
        n
    }
    fn tmp(&self) -> OsString {
        self.sibling(TMP_SUFFIX)
    }
    fn bak(&self) -> OsString {
        self.sibling(BAK_SUFFIX)
    }
}

enum Part {
    Name(OsString),
    Up,
}

fn check_logical(path: &Path) -> Result<(), FsError> {
    let bad = |reason: &str| {
        Err(FsError::InvalidSpec {
            path: path.to_path_buf(),
            reason: format!("not a valid managed path ({reason})"),
        })
    };
    if !path.is_absolute() {
        return bad("must be absolute inside the target");
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return bad("must not contain `..`");
    }
    let Some(name) = path.file_name() else {
        return bad("names no file");
    };
    if name.len() + 1 + TMP_SUFFIX.len() > NAME_MAX {
        return bad("file name too long");
    }
    Ok(())
}

/// Resolve `logical` inside the target without leaving it (module doc).
fn resolve(root: &Root, logical: &Path) -> Result<Resolved, FsError> {
    check_logical(logical)?;
    let rel: PathBuf = logical
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let host = root.dir.display.join(&rel);
    let parent_rel = rel.parent().unwrap_or(Path::new(""));
    let parent = if parent_rel.as_os_str().is_empty() {
        Some(root.dir.clone())
    } else if root.openat2 {
        // Any failure (a missing directory, a loop, a file where a
        // directory should be): the walk below finds out which and says so.
        rustix::fs::openat2(
            &*root.dir.fd,
            parent_rel,
            DIR_FLAGS,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
        .ok()
        .and_then(|fd| Dir::from_fd(fd, root.dir.display.join(parent_rel)).ok())
    } else {
        None
    };
    let Some(parent) = parent else {
        return walk(root, logical, host);
    };
    let Some(name) = logical.file_name().map(OsStr::to_owned) else {
        return Err(FsError::InvalidSpec {
            path: logical.to_path_buf(),
            reason: "names no file".into(),
        });
    };
    let exists = final_component(&parent, &name, &host)?;
    Ok(Resolved {
        logical: logical.to_path_buf(),
        host,
        base: parent,
        missing: Vec::new(),
        name,
        exists,
    })
}

/// Whether `name` in `parent` exists, as a regular file; any other kind
/// of file is an error.
fn final_component(parent: &Dir, name: &OsStr, host: &Path) -> Result<bool, FsError> {
    let Some(st) = parent.stat(name).map_err(errno_err(host, "inspect"))? else {
        return Ok(false);
    };
    match file_type(&st) {
        FileType::RegularFile => Ok(true),
        FileType::Symlink => Err(FsError::FinalSymlink {
            path: host.to_path_buf(),
            dest: parent.read_link(name)?,
        }),
        FileType::Directory => Err(FsError::IsDirectory {
            path: host.to_path_buf(),
        }),
        _ => Err(FsError::NotRegular {
            path: host.to_path_buf(),
        }),
    }
}

/// The component walk: portable, and exact about what is wrong where.
fn walk(root: &Root, logical: &Path, host: PathBuf) -> Result<Resolved, FsError> {
    let mut pending: VecDeque<Part> = logical
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Part::Name(n.to_owned())),
            _ => None,
        })
        .collect();
    // stack[0] is the root and is never popped.
    let mut stack: Vec<Dir> = vec![root.dir.clone()];
    let mut hops = 0usize;
    let mut missing: Option<Vec<OsString>> = None;
    let mut last_link: Option<(PathBuf, PathBuf)> = None;
    let mut found: Option<(OsString, bool)> = None;

    while let Some(part) = pending.pop_front() {
        let is_last = pending.is_empty();
        let name = match part {
            Part::Up => {
                if missing.is_some() {
                    let (path, dest) = last_link.clone().unwrap_or_default();
                    return Err(FsError::BadSymlink {
                        path,
                        dest,
                        reason: "it goes through a directory that does not exist",
                    });
                }
                if stack.len() > 1 {
                    stack.pop(); // at the root, `..` stays at the root
                }
                continue;
            }
            Part::Name(n) => n,
        };
        if let Some(m) = missing.as_mut() {
            if is_last {
                found = Some((name, false));
            } else {
                m.push(name);
            }
            continue;
        }
        let cur = stack[stack.len() - 1].clone();
        let path = cur.path(&name);
        let Some(st) = cur.stat(&name).map_err(errno_err(&path, "inspect"))? else {
            if is_last {
                missing = Some(Vec::new());
                found = Some((name, false));
            } else {
                missing = Some(vec![name]);
            }
            continue;
        };
        match file_type(&st) {
            FileType::Symlink => {
                let dest = cur.read_link(&name)?;
                if is_last {
                    return Err(FsError::FinalSymlink { path, dest });
                }
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(FsError::SymlinkLoop {
                        path,
                        logical: logical.to_path_buf(),
                    });
                }
                if dest.as_os_str().is_empty() {
                    return Err(FsError::BadSymlink {
                        path,
                        dest,
                        reason: "empty link",
                    });
                }
                if dest.is_absolute() {
                    stack.truncate(1); // re-rooted at the target
                }
                for c in dest.components().rev() {
                    match c {
                        Component::Normal(n) => pending.push_front(Part::Name(n.to_owned())),
                        Component::ParentDir => pending.push_front(Part::Up),
                        Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                    }
                }
                last_link = Some((path, dest));
            }
            FileType::Directory if is_last => return Err(FsError::IsDirectory { path }),
            FileType::Directory => stack.push(cur.open_child(&name)?),
            FileType::RegularFile if is_last => found = Some((name, true)),
            _ if !is_last => {
                return Err(FsError::NotADirectory {
                    path,
                    logical: logical.to_path_buf(),
                });
            }
            _ => return Err(FsError::NotRegular { path }),
        }
    }

    let Some((name, exists)) = found else {
        // Unreachable: the last part is always a name from `logical`.
        return Err(FsError::InvalidSpec {
            path: logical.to_path_buf(),
            reason: "resolved to the target root itself".into(),
        });
    };
    Ok(Resolved {
        logical: logical.to_path_buf(),
        host,
        base: stack[stack.len() - 1].clone(),
        missing: missing.unwrap_or_default(),
        name,
        exists,
    })
}

/// How much of an existing file the `owned` callback sees: enough for any
/// header marker, without loading a multi-megabyte binary into memory.
pub const OWNED_PREFIX: usize = 4096;

/// Open the regular file `name` in `parent`, never through a symlink (one
/// swapped in since resolution is refused, not followed) and without
/// blocking on a FIFO swapped in.
fn open_in(parent: &Dir, name: &OsStr, host: &Path) -> Result<File, FsError> {
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
fn open_regular(
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
/// outside the writer: `verify`, `plan`'s diff, the hook's config lookup.
pub fn open_file(target: &Path, logical: &Path) -> Result<Option<(PathBuf, File)>, FsError> {
    let root = Root::open(target)?;
    let res = resolve(&root, logical)?;
    match res.parent() {
        Some(parent) if res.exists => Ok(Some((res.host.clone(), open_in(parent, &res.name, &res.host)?))),
        _ => Ok(None),
    }
}

/// [`open_file`] and read it whole when it holds at most `limit` bytes.
pub fn read_file(target: &Path, logical: &Path, limit: u64) -> Result<Option<(PathBuf, Vec<u8>)>, FsError> {
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
fn same_contents(
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
// Bounded reads

/// Read all of `reader` when it holds at most `limit` bytes: `Ok(None)`
/// when it holds more. Reads at most `limit + 1` bytes, so an endless
/// source (`/dev/zero`, a FIFO fed forever) returns promptly: the size the
/// metadata gives is never trusted (a device or a FIFO says 0).
pub fn read_at_most(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

// ---------------------------------------------------------------------------
// Phase 1: validate

struct Planned<'a> {
    res: Resolved,
    change: Change,
    contents: Option<&'a FileSpec>,
}

type Owned<'o> = &'o dyn Fn(&Path, &[u8]) -> bool;

fn plan<'a>(
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

fn outcome(plan: &[Planned<'_>], warnings: Vec<String>) -> Outcome {
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
pub fn preview(
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
pub fn commit(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: &dyn Fn(&Path, &[u8]) -> bool,
) -> Result<Outcome, FsError> {
    commit_faults(target, files, remove, owned, &[])
}

/// [`commit`] with fault injection for tests: mutating step number
/// `fail_at` (counting from 0 over phases 2–4) fails with an injected I/O
/// error. `None` is a normal commit.
#[cfg(test)]
fn commit_with(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: &dyn Fn(&Path, &[u8]) -> bool,
    fail_at: Option<usize>,
) -> Result<Outcome, FsError> {
    commit_faults(target, files, remove, owned, fail_at.as_slice())
}

/// [`commit`] failing every step listed (to fail a rollback too).
fn commit_faults(
    target: &Path,
    files: &[FileSpec],
    remove: &[PathBuf],
    owned: Owned<'_>,
    fail: &[usize],
) -> Result<Outcome, FsError> {
    let root = Root::open(target)?;
    let _lock = lock_root(&root)?;
    let mut warnings = clean_stale(&root, files, remove)?;
    let plan = plan(&root, files, remove, owned)?;
    let ops = Ops {
        fail,
        step: Cell::new(0),
    };
    warnings.extend(execute(&ops, &plan)?);
    Ok(outcome(&plan, warnings))
}

// ---------------------------------------------------------------------------
// Lock

/// Held for the duration of a [`commit`]; released on drop.
///
/// The lock is an exclusive `flock` on the target root directory itself:
/// it leaves no lock file behind, so `remove` can take out everything
/// `apply` wrote and a failed run on a fresh target leaves no trace.
#[derive(Debug)]
pub(crate) struct TargetLock {
    _dir: Rc<OwnedFd>,
}

fn lock_root(root: &Root) -> Result<TargetLock, FsError> {
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
pub(crate) fn lock(target: &Path) -> Result<TargetLock, FsError> {
    lock_root(&Root::open(target)?)
}

// ---------------------------------------------------------------------------
// Leftovers of a killed run

fn clean_stale(root: &Root, files: &[FileSpec], remove: &[PathBuf]) -> Result<Vec<String>, FsError> {
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

// ---------------------------------------------------------------------------
// Phases 2-4

/// Mutating file-system steps, numbered for fault injection. Every one
/// acts on a directory handle; the path is only for messages.
struct Ops<'f> {
    fail: &'f [usize],
    step: Cell<usize>,
}

/// A step that failed, and whether it left something of ours behind
/// (a directory made before its chmod failed, a temp file created before
/// its write failed) that the rollback must take away.
type Step<T> = Result<T, (io::Error, bool)>;

impl Ops<'_> {
    fn tick(&self, op: &str, path: &Path) -> io::Result<()> {
        let n = self.step.get();
        self.step.set(n + 1);
        if self.fail.contains(&n) {
            return Err(io::Error::other(format!(
                "injected fault at step {n} ({op} {})",
                path.display()
            )));
        }
        Ok(())
    }

    /// `mkdirat` + `fchmod` 0755 (the umask may have cleared bits).
    fn create_dir(&self, parent: &Dir, name: &OsStr) -> Step<Dir> {
        let path = parent.path(name);
        self.tick("mkdir", &path).map_err(|e| (e, false))?;
        rustix::fs::mkdirat(&*parent.fd, name, Mode::from_raw_mode(0o755)).map_err(|e| (e.into(), false))?;
        self.tick("chmod", &path).map_err(|e| (e, true))?;
        let dir = parent
            .open_child(name)
            .map_err(|e| (io::Error::other(e.to_string()), true))?;
        rustix::fs::fchmod(&*dir.fd, Mode::from_raw_mode(0o755)).map_err(|e| (e.into(), true))?;
        Ok(dir)
    }

    fn write_temp(&self, dir: &Dir, name: &OsStr, data: &[u8], mode: u32) -> Step<()> {
        let path = dir.path(name);
        self.tick("create", &path).map_err(|e| (e, false))?;
        let fd = rustix::fs::openat(
            &*dir.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| (e.into(), false))?;
        let mut f = File::from(fd);
        let created = |e| (e, true);
        self.tick("write", &path).map_err(created)?;
        f.write_all(data).map_err(created)?;
        self.tick("chmod", &path).map_err(created)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(created)?;
        self.tick("fsync", &path).map_err(created)?;
        f.sync_all().map_err(created)
    }

    /// Hard link, or a synced copy where the file system has no hard links.
    fn backup(&self, dir: &Dir, from: &OsStr, to: &OsStr) -> io::Result<()> {
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

    fn rename(&self, dir: &Dir, from: &OsStr, to: &OsStr) -> io::Result<()> {
        self.tick("rename", &dir.path(to))?;
        Ok(rustix::fs::renameat(&*dir.fd, from, &*dir.fd, to)?)
    }

    fn remove_file(&self, dir: &Dir, name: &OsStr) -> io::Result<()> {
        self.tick("unlink", &dir.path(name))?;
        Ok(rustix::fs::unlinkat(&*dir.fd, name, AtFlags::empty())?)
    }

    fn remove_dir(&self, parent: &Dir, name: &OsStr) -> io::Result<()> {
        self.tick("rmdir", &parent.path(name))?;
        Ok(rustix::fs::unlinkat(&*parent.fd, name, AtFlags::REMOVEDIR)?)
    }

    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        self.tick("fsync directory", &dir.display)?;
        Ok(rustix::fs::fsync(&*dir.fd)?)
    }
}

/// A name in a directory, held by the directory's handle.
#[derive(Debug, Clone)]
struct Entry {
    dir: Dir,
    name: OsString,
}

impl Entry {
    fn new(dir: &Dir, name: &OsStr) -> Entry {
        Entry {
            dir: dir.clone(),
            name: name.to_owned(),
        }
    }
    fn path(&self) -> PathBuf {
        self.dir.path(&self.name)
    }
}

/// A phase-3 step done, to undo on failure. `main` and `bak` are names in
/// the same directory.
enum Done {
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
struct Journal {
    /// Directories this run made, parent first.
    created_dirs: Vec<Entry>,
    /// The same, by `(base directory, names below it)`, for reuse.
    made: BTreeMap<((u64, u64), Vec<OsString>), Dir>,
    temps: Vec<Entry>,
    done: Vec<Done>,
    /// Directories whose entries changed, to fsync.
    touched: BTreeMap<(u64, u64), Dir>,
}

impl Journal {
    fn touch(&mut self, d: &Dir) {
        self.touched.entry(d.id).or_insert_with(|| d.clone());
    }
}

fn execute(ops: &Ops, plan: &[Planned<'_>]) -> Result<Vec<String>, FsError> {
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
fn stage(ops: &Ops, plan: &[Planned<'_>], j: &mut Journal) -> Result<Vec<Option<Dir>>, FsError> {
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
fn switch(ops: &Ops, plan: &[Planned<'_>], dirs: &[Option<Dir>], j: &mut Journal) -> Result<(), FsError> {
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
fn rollback(ops: &Ops, j: &mut Journal) -> Vec<String> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    const MARK: &[u8] = b"# managed by harvester-sriov\n";

    fn ours(_: &Path, b: &[u8]) -> bool {
        b.starts_with(MARK)
    }

    fn body(s: &str) -> Vec<u8> {
        [MARK, s.as_bytes()].concat()
    }

    fn spec(path: &str, s: &str, mode: u32) -> FileSpec {
        FileSpec {
            path: PathBuf::from(path),
            contents: body(s),
            mode,
        }
    }

    fn put(root: &Path, rel: &str, bytes: &[u8], mode: u32) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[derive(Debug, PartialEq, Eq)]
    enum Entry {
        File {
            bytes: Vec<u8>,
            mode: u32,
            ino: u64,
            mtime: (i64, i64),
        },
        Dir {
            mode: u32,
        },
        Link(PathBuf),
    }

    /// Everything under `root` (not following symlinks).
    fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let m = fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                if m.file_type().is_symlink() {
                    out.insert(rel, Entry::Link(fs::read_link(&p).unwrap()));
                } else if m.is_dir() {
                    out.insert(
                        rel,
                        Entry::Dir {
                            mode: m.mode() & 0o7777,
                        },
                    );
                    walk(root, &p, out);
                } else {
                    out.insert(
                        rel,
                        Entry::File {
                            bytes: fs::read(&p).unwrap(),
                            mode: m.mode() & 0o7777,
                            ino: m.ino(),
                            mtime: (m.mtime(), m.mtime_nsec()),
                        },
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(root, root, &mut out);
        out
    }

    fn strays(root: &Path) -> Vec<PathBuf> {
        snapshot(root)
            .into_keys()
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.ends_with(TMP_SUFFIX) || n.ends_with(BAK_SUFFIX)
            })
            .collect()
    }

    fn mode_of(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn create_update_unchanged_remove() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let files = vec![
            spec("/oem/95_harvester-sriov.yaml", "a", 0o644),
            spec("/oem/harvester-sriov/harvester-sriov", "bin", 0o755),
            spec(
                "/etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml",
                "c",
                0o600,
            ),
        ];
        let pre = preview(root, &files, &[], &ours).unwrap();
        assert!(pre.changes.iter().all(|(_, c)| *c == Change::Create));
        let out = commit(root, &files, &[], &ours).unwrap();
        assert_eq!(out.changes, pre.changes);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // Sorted by logical path.
        let paths: Vec<_> = out.changes.iter().map(|(p, _)| p.clone()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        for f in &files {
            let host = root.join(f.path.strip_prefix("/").unwrap());
            assert_eq!(fs::read(&host).unwrap(), f.contents);
            assert_eq!(mode_of(&host), f.mode);
        }
        for d in [
            "etc",
            "etc/rancher",
            "etc/rancher/rke2",
            "etc/rancher/rke2/config.yaml.d",
        ] {
            assert_eq!(mode_of(&root.join(d)), 0o755, "{d}");
        }

        // Idempotent: nothing rewritten, inode and mtime kept.
        let before = snapshot(root);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let out = commit(root, &files, &[], &ours).unwrap();
        assert!(out.is_noop(), "{out:?}");
        assert_eq!(snapshot(root), before);

        // Content change, mode-only change, removal, removal of an absent path.
        let mut files2 = files.clone();
        files2[0].contents = body("a2");
        files2[1].mode = 0o700;
        let files2 = vec![files2[0].clone(), files2[1].clone()];
        let remove = vec![
            PathBuf::from("/etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml"),
            PathBuf::from("/etc/modprobe.d/harvester-sriov.conf"),
        ];
        let pre = preview(root, &files2, &remove, &ours).unwrap();
        assert_eq!(snapshot(root), before, "preview must not write");
        let out = commit(root, &files2, &remove, &ours).unwrap();
        assert_eq!(out.changes, pre.changes);
        assert_eq!(
            out.changes,
            vec![
                (
                    PathBuf::from("/etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml"),
                    Change::Remove
                ),
                (PathBuf::from("/oem/95_harvester-sriov.yaml"), Change::Update),
                (
                    PathBuf::from("/oem/harvester-sriov/harvester-sriov"),
                    Change::Update
                ),
            ]
        );
        assert_eq!(
            fs::read(root.join("oem/95_harvester-sriov.yaml")).unwrap(),
            body("a2")
        );
        assert_eq!(mode_of(&root.join("oem/harvester-sriov/harvester-sriov")), 0o700);
        assert!(
            !root
                .join("etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml")
                .exists()
        );
        assert!(strays(root).is_empty());
        assert!(commit(root, &files2, &remove, &ours).unwrap().is_noop());
    }

    #[test]
    fn preview_touches_nothing_not_even_the_lock() {
        let t = tempfile::tempdir().unwrap();
        let out = preview(t.path(), &[spec("/oem/a.yaml", "a", 0o644)], &[], &ours).unwrap();
        assert_eq!(out.changes, vec![(PathBuf::from("/oem/a.yaml"), Change::Create)]);
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 0);
    }

    /// `TMP/outside/canary` next to `TMP/target`.
    fn with_canary() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("target");
        let outside = t.path().join("outside");
        fs::create_dir_all(&target).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("canary"), b"canary").unwrap();
        (t, target, outside)
    }

    fn assert_canary_alone(outside: &Path) {
        let names: Vec<_> = fs::read_dir(outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("canary")]);
        assert_eq!(fs::read(outside.join("canary")).unwrap(), b"canary");
    }

    #[test]
    fn oem_linked_to_slash_is_rerooted_at_the_target() {
        let (_t, target, outside) = with_canary();
        symlink("/", target.join("oem")).unwrap();
        let name = format!("zz-fsx-test-{}.yaml", std::process::id());
        let files = [spec(&format!("/oem/{name}"), "x", 0o644)];
        let out = commit(&target, &files, &[], &ours).unwrap();
        assert_eq!(out.changes[0].1, Change::Create);
        assert_eq!(fs::read(target.join(&name)).unwrap(), body("x"));
        assert!(!Path::new("/").join(&name).exists(), "wrote to the host root");
        assert_canary_alone(&outside);
    }

    #[test]
    fn dotdot_link_cannot_climb_out_of_the_target() {
        let (_t, target, outside) = with_canary();
        symlink("../outside", target.join("oem")).unwrap();
        let files = [spec("/oem/canary", "x", 0o644)];
        commit(&target, &files, &[], &ours).unwrap();
        // `..` at the root stays at the root: lands in TARGET/outside.
        assert_eq!(fs::read(target.join("outside/canary")).unwrap(), body("x"));
        assert_canary_alone(&outside);

        // Deep `..` chains and absolute links to host paths are re-rooted too.
        symlink("../../../../../../../outside", target.join("up")).unwrap();
        symlink(&outside, target.join("abs")).unwrap();
        let files = [spec("/up/a", "a", 0o644), spec("/abs/b", "b", 0o644)];
        commit(&target, &files, &[], &ours).unwrap();
        assert!(target.join("outside/a").is_file());
        let rerooted = target.join(outside.strip_prefix("/").unwrap()).join("b");
        assert_eq!(fs::read(rerooted).unwrap(), body("b"));
        assert_canary_alone(&outside);
    }

    #[test]
    fn absolute_link_into_the_target_is_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("data/oem")).unwrap();
        symlink("/data/oem", root.join("oem")).unwrap();
        let files = [spec("/oem/a.yaml", "a", 0o644)];
        commit(root, &files, &[], &ours).unwrap();
        assert_eq!(fs::read(root.join("data/oem/a.yaml")).unwrap(), body("a"));
        assert!(commit(root, &files, &[], &ours).unwrap().is_noop());
    }

    #[test]
    fn symlink_loops_are_errors() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("oem")).unwrap();
        symlink("b", root.join("a")).unwrap();
        symlink("/a", root.join("b")).unwrap();
        symlink("self", root.join("self")).unwrap();
        for p in ["/a/x.yaml", "/self/x.yaml"] {
            let err = preview(root, &[spec(p, "x", 0o644)], &[], &ours).unwrap_err();
            assert!(matches!(err, FsError::SymlinkLoop { .. }), "{p}: {err}");
            assert!(err.to_string().contains("fix the symlink loop"), "{err}");
            let err = commit(root, &[spec(p, "x", 0o644)], &[], &ours).unwrap_err();
            assert!(matches!(err, FsError::SymlinkLoop { .. }), "{p}: {err}");
        }
        // A long chain below the limit is fine.
        fs::create_dir_all(root.join("real")).unwrap();
        symlink("/real", root.join("l0")).unwrap();
        for i in 1..MAX_SYMLINK_HOPS {
            symlink(format!("l{}", i - 1), root.join(format!("l{i}"))).unwrap();
        }
        let last = format!("/l{}/x.yaml", MAX_SYMLINK_HOPS - 1);
        commit(root, &[spec(&last, "x", 0o644)], &[], &ours).unwrap();
        assert!(root.join("real/x.yaml").is_file());
    }

    #[test]
    fn final_symlink_is_refused_and_nothing_is_written() {
        let (_t, target, outside) = with_canary();
        fs::create_dir_all(target.join("oem/harvester-sriov")).unwrap();
        symlink(outside.join("canary"), target.join("oem/x.yaml")).unwrap();
        let before = snapshot(&target);
        let files = [spec("/oem/new.yaml", "n", 0o644), spec("/oem/x.yaml", "x", 0o644)];
        let err = commit(&target, &files, &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::FinalSymlink { .. }), "{err}");
        assert!(err.to_string().contains("oem/x.yaml"), "{err}");
        let err = commit(&target, &[], &[PathBuf::from("/oem/x.yaml")], &ours).unwrap_err();
        assert!(matches!(err, FsError::FinalSymlink { .. }), "{err}");
        assert_eq!(snapshot(&target), before);
        assert_canary_alone(&outside);
    }

    #[test]
    fn foreign_files_are_refused_and_nothing_is_written() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("oem/harvester-sriov")).unwrap();
        put(
            root,
            "etc/modprobe.d/harvester-sriov.conf",
            b"options ixgbe max_vfs=8\n",
            0o644,
        );
        put(root, "oem/mine.yaml", &body("old"), 0o644);
        let before = snapshot(root);
        let files = [
            spec("/oem/mine.yaml", "new", 0o644),
            spec("/oem/new.yaml", "n", 0o644),
            spec("/etc/modprobe.d/harvester-sriov.conf", "x", 0o644),
        ];
        let err = commit(root, &files, &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::NotOwned { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("etc/modprobe.d/harvester-sriov.conf"), "{msg}");
        assert!(msg.contains("move it away"), "{msg}");
        assert_eq!(snapshot(root), before);
        // Removal is checked the same way.
        let remove = [PathBuf::from("/etc/modprobe.d/harvester-sriov.conf")];
        let err = preview(root, &[], &remove, &ours).unwrap_err();
        assert!(matches!(err, FsError::NotOwned { .. }), "{err}");
        let err = commit(root, &[], &remove, &ours).unwrap_err();
        assert!(matches!(err, FsError::NotOwned { .. }), "{err}");
        assert_eq!(snapshot(root), before);
    }

    #[test]
    fn wrong_kinds_of_path_are_errors_naming_the_path() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("oem/dir.yaml")).unwrap();
        put(root, "etc", b"not a dir", 0o644);
        let before = snapshot(root);

        let err = commit(root, &[spec("/oem/dir.yaml", "x", 0o644)], &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::IsDirectory { .. }), "{err}");
        assert!(err.to_string().contains("oem/dir.yaml"), "{err}");

        let files = [
            spec("/oem/ok.yaml", "x", 0o644),
            spec("/etc/modprobe.d/harvester-sriov.conf", "x", 0o644),
        ];
        let err = commit(root, &files, &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::NotADirectory { .. }), "{err}");
        assert!(
            err.to_string().contains(&root.join("etc").display().to_string()),
            "{err}"
        );
        assert!(!root.join("oem/ok.yaml").exists());

        for bad in ["relative.yaml", "/oem/../x.yaml", "/"] {
            let err = preview(root, &[spec(bad, "x", 0o644)], &[], &ours).unwrap_err();
            assert!(matches!(err, FsError::InvalidSpec { .. }), "{bad}: {err}");
        }
        let err = preview(root, &[spec("/oem/x", "x", 0o100644)], &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::InvalidSpec { .. }), "{err}");
        for not_a_root in [root.join("nope"), root.join("etc")] {
            let err = commit(&not_a_root, &[], &[], &ours).unwrap_err();
            assert!(matches!(err, FsError::Target { .. }), "{err}");
            assert!(err.to_string().contains("--target"), "{err}");
        }
        assert_eq!(snapshot(root), before);
    }

    #[test]
    fn the_same_file_twice_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        symlink("/", root.join("oem")).unwrap();
        let files = [spec("/oem/a.yaml", "1", 0o644), spec("/a.yaml", "2", 0o644)];
        let err = preview(root, &files, &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::InvalidSpec { .. }), "{err}");
        let err = preview(root, &files[..1], &[PathBuf::from("/a.yaml")], &ours);
        assert!(err.is_ok(), "absent removal is skipped");
        let files = [spec("/x/a", "1", 0o644), spec("/x/a/b", "2", 0o644)];
        let err = preview(root, &files, &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::InvalidSpec { .. }), "{err}");
    }

    #[test]
    fn lock_is_exclusive() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let held = lock(root).unwrap();
        let err = lock(root).unwrap_err();
        assert!(matches!(err, FsError::Locked { .. }), "{err}");
        let lock_path = root.to_owned();
        assert!(
            err.to_string().starts_with(&format!(
                "another harvester-sriov run holds {}",
                lock_path.display()
            )),
            "{err}"
        );
        let files = [spec("/oem/a.yaml", "a", 0o644)];
        let err = commit(root, &files, &[], &ours).unwrap_err();
        assert!(matches!(err, FsError::Locked { .. }), "{err}");
        assert!(!root.join("oem/a.yaml").exists());
        // preview needs no lock.
        preview(root, &files, &[], &ours).unwrap();
        drop(held);
        commit(root, &files, &[], &ours).unwrap();
        let _again = lock(root).unwrap();
    }

    #[test]
    fn leftovers_of_a_killed_run_are_repaired() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        put(root, "oem/a.yaml", &body("a-new"), 0o644);
        put(root, "oem/.a.yaml.harvester-sriov.bak", &body("a-old"), 0o644);
        put(root, "oem/.a.yaml.harvester-sriov.tmp", b"half", 0o600);
        // Killed while removing b: only the backup is left.
        put(root, "oem/.b.yaml.harvester-sriov.bak", &body("b-old"), 0o644);
        // Killed while removing c, which is still to be removed.
        put(root, "oem/.c.yaml.harvester-sriov.bak", &body("c-old"), 0o644);
        let files = [spec("/oem/a.yaml", "a-new", 0o644)];
        let remove = [PathBuf::from("/oem/b.yaml"), PathBuf::from("/oem/c.yaml")];
        let out = commit(root, &files, &remove[1..], &ours).unwrap();
        assert_eq!(out.warnings.len(), 3, "{:?}", out.warnings);
        assert_eq!(out.get(Path::new("/oem/a.yaml")), Some(Change::Unchanged));
        assert_eq!(out.get(Path::new("/oem/c.yaml")), Some(Change::Remove));
        // b is not managed by this run: its stale backup is left alone.
        assert_eq!(
            strays(root),
            vec![PathBuf::from("oem/.b.yaml.harvester-sriov.bak")]
        );
        let out = commit(root, &files, &remove[..1], &ours).unwrap();
        // b was restored, then removed again through the owned check.
        assert_eq!(out.get(Path::new("/oem/b.yaml")), Some(Change::Remove));
        assert!(strays(root).is_empty());
        assert!(!root.join("oem/b.yaml").exists());
    }

    #[test]
    fn a_failed_run_on_a_fresh_target_leaves_no_trace_not_even_the_lock() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let files = [spec("/oem/harvester-sriov/state.yaml", "s", 0o644)];
        let err = commit_with(root, &files, &[], &ours, Some(0)).unwrap_err();
        assert!(err.to_string().contains("oem"), "{err}");
        assert_eq!(fs::read_dir(root).unwrap().count(), 0, "{:?}", snapshot(root));
        put(root, "etc/modprobe.d/harvester-sriov.conf", b"foreign", 0o644);
        let err = commit(
            root,
            &[],
            &[PathBuf::from("/etc/modprobe.d/harvester-sriov.conf")],
            &ours,
        );
        assert!(matches!(err, Err(FsError::NotOwned { .. })), "{err:?}");
        assert!(!root.join("oem").exists());
        // A successful run leaves exactly its files and their directories:
        // no lock file, no temp, no backup anywhere.
        commit(root, &files, &[], &ours).unwrap();
        let left: Vec<PathBuf> = snapshot(root).into_keys().collect();
        assert_eq!(
            left,
            [
                "etc",
                "etc/modprobe.d",
                "etc/modprobe.d/harvester-sriov.conf", // the foreign file, left alone
                "oem",
                "oem/harvester-sriov",
                "oem/harvester-sriov/state.yaml",
            ]
            .map(PathBuf::from),
            "{left:?}"
        );
    }

    #[test]
    fn a_failed_rollback_is_reported_and_a_rerun_repairs_it() {
        let mut rollback_failures = 0;
        for n in 0..200 {
            let t = tempfile::tempdir_in(if Path::new("/dev/shm").is_dir() {
                "/dev/shm"
            } else {
                "/tmp"
            })
            .unwrap();
            let root = t.path();
            let (files, remove) = fault_fixture(root);
            // Fail step n, then the first rollback step after it.
            match commit_faults(root, &files, &remove, &ours, &[n, n + 1]) {
                Err(FsError::RollbackFailed { cause, leftovers }) => {
                    rollback_failures += 1;
                    assert!(cause.to_string().contains("cannot"), "{cause}");
                    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
                    assert!(
                        leftovers[0].contains(&root.display().to_string()),
                        "{leftovers:?}"
                    );
                    let msg = FsError::RollbackFailed { cause, leftovers }.to_string();
                    assert!(msg.contains("re-run harvester-sriov"), "{msg}");
                }
                Err(_) => {}
                Ok(out) if out.warnings.is_empty() => break,
                Ok(_) => {}
            }
            commit(root, &files, &remove, &ours).unwrap();
            assert_new_state(root, &files, &remove);
            assert!(strays(root).is_empty(), "step {n}: {:?}", strays(root));
        }
        assert!(rollback_failures >= 10, "{rollback_failures}");
    }

    /// The component walk (kernels without `openat2`, and the diagnosis
    /// when `openat2` fails) gives the same answers as `openat2`.
    #[test]
    fn the_component_walk_gives_the_same_answers() {
        WALK_ONLY.with(|w| w.set(true));
        assert!(!Root::open(Path::new("/")).unwrap().openat2);
        oem_linked_to_slash_is_rerooted_at_the_target();
        dotdot_link_cannot_climb_out_of_the_target();
        absolute_link_into_the_target_is_followed();
        symlink_loops_are_errors();
        final_symlink_is_refused_and_nothing_is_written();
        wrong_kinds_of_path_are_errors_naming_the_path();
        the_same_file_twice_is_refused();
        leftovers_of_a_killed_run_are_repaired();
        a_directory_swapped_for_a_symlink_after_resolution_is_not_followed();
        a_fault_at_any_step_leaves_the_old_state_and_a_rerun_finishes();
    }

    #[test]
    fn openat2_is_used_where_the_kernel_has_it() {
        // Not every kernel (or seccomp filter) has it; where it does, the
        // root says so, and the walk is only the fallback.
        let supported = openat2_supported();
        eprintln!("openat2 with RESOLVE_IN_ROOT on this kernel: {supported}");
        assert_eq!(Root::open(Path::new("/")).unwrap().openat2, supported);
    }

    /// Between validation and the write, another process replaces `/oem`
    /// with a symlink to a directory outside the target. The writer acts
    /// on the directory handle it resolved, so the file lands in the real
    /// (moved) directory, and nothing is written outside.
    #[test]
    fn a_directory_swapped_for_a_symlink_after_resolution_is_not_followed() {
        let (_t, target, outside) = with_canary();
        put(&target, "oem/old.yaml", &body("old"), 0o644);
        let files = [
            spec("/oem/old.yaml", "new", 0o644),
            spec("/oem/new.yaml", "n", 0o644),
        ];
        let root = Root::open(&target).unwrap();
        let planned = plan(&root, &files, &[], &ours).unwrap();
        fs::rename(target.join("oem"), target.join("moved")).unwrap();
        symlink(&outside, target.join("oem")).unwrap();
        let ops = Ops {
            fail: &[],
            step: Cell::new(0),
        };
        execute(&ops, &planned).unwrap();
        assert_canary_alone(&outside);
        assert_eq!(fs::read(target.join("moved/old.yaml")).unwrap(), body("new"));
        assert_eq!(fs::read(target.join("moved/new.yaml")).unwrap(), body("n"));
        // Reading goes through the same resolver: the link is re-rooted.
        assert!(open_file(&target, Path::new("/oem/canary")).unwrap().is_none());
    }

    /// Readers outside the writer resolve like the writer.
    #[test]
    fn open_file_resolves_like_the_writer() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        fs::create_dir_all(root.join("data/oem")).unwrap();
        symlink("/data/oem", root.join("oem")).unwrap();
        commit(root, &[spec("/oem/a.yaml", "a", 0o644)], &[], &ours).unwrap();
        let (host, bytes) = read_file(root, Path::new("/oem/a.yaml"), 1024).unwrap().unwrap();
        assert_eq!(bytes, body("a"));
        assert_eq!(host, root.join("oem/a.yaml"));
        assert!(
            read_file(root, Path::new("/oem/missing.yaml"), 1024)
                .unwrap()
                .is_none()
        );
        assert!(
            read_file(root, Path::new("/nodir/missing.yaml"), 1024)
                .unwrap()
                .is_none()
        );
        let err = read_file(root, Path::new("/oem/a.yaml"), 3).unwrap_err();
        assert!(matches!(err, FsError::TooLarge { .. }), "{err}");
        symlink("/etc/passwd", root.join("data/oem/link.yaml")).unwrap();
        let err = read_file(root, Path::new("/oem/link.yaml"), 1024).unwrap_err();
        assert!(matches!(err, FsError::FinalSymlink { .. }), "{err}");
    }

    /// Old state, new wish, and the expected result, for fault injection.
    fn fault_fixture(root: &Path) -> (Vec<FileSpec>, Vec<PathBuf>) {
        fs::create_dir_all(root.join("oem/harvester-sriov")).unwrap();
        put(root, "oem/95_harvester-sriov.yaml", &body("old95"), 0o644);
        put(root, "oem/harvester-sriov/harvester-sriov", &body("bin"), 0o644);
        put(root, "oem/harvester-sriov/state.yaml", &body("state"), 0o644);
        put(root, "etc/modprobe.d/harvester-sriov.conf", &body("old"), 0o644);
        let files = vec![
            spec("/oem/95_harvester-sriov.yaml", "new95", 0o644), // update
            spec("/oem/harvester-sriov/harvester-sriov", "bin", 0o755), // mode only
            spec("/oem/harvester-sriov/state.yaml", "state", 0o644), // unchanged
            spec(
                "/etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml",
                "rke2",
                0o644,
            ), // create + dirs
            spec(
                "/var/lib/rancher/rke2/server/manifests/harvester-sriov.yaml",
                "m",
                0o644,
            ), // create + dirs
        ];
        let remove = vec![PathBuf::from("/etc/modprobe.d/harvester-sriov.conf")];
        (files, remove)
    }

    fn assert_new_state(root: &Path, files: &[FileSpec], remove: &[PathBuf]) {
        for f in files {
            let host = root.join(f.path.strip_prefix("/").unwrap());
            assert_eq!(fs::read(&host).unwrap(), f.contents, "{}", host.display());
            assert_eq!(mode_of(&host), f.mode, "{}", host.display());
        }
        for r in remove {
            assert!(!root.join(r.strip_prefix("/").unwrap()).exists());
        }
    }

    #[test]
    fn a_fault_at_any_step_leaves_the_old_state_and_a_rerun_finishes() {
        let mut errors = 0;
        let mut warned = 0;
        let mut kinds = BTreeSet::new();
        for n in 0.. {
            assert!(n < 1000, "fault loop does not end");
            // ~70 runs x 3 commits of fsyncs: use tmpfs where there is one.
            let shm = Path::new("/dev/shm");
            let t = if shm.is_dir() {
                tempfile::tempdir_in(shm).unwrap()
            } else {
                tempfile::tempdir().unwrap()
            };
            let root = t.path();
            let (files, remove) = fault_fixture(root);
            let before = snapshot(root);
            match commit_with(root, &files, &remove, &ours, Some(n)) {
                Err(e) => {
                    errors += 1;
                    assert!(matches!(e, FsError::Io { .. }), "step {n}: {e}");
                    let chain = format!("{:#}", anyhow::Error::from(e));
                    assert!(chain.contains("injected fault"), "step {n}: {chain}");
                    let op = chain.split("injected fault at step ").nth(1).unwrap();
                    kinds.insert(
                        op.split_once('(')
                            .unwrap()
                            .1
                            .split(' ')
                            .next()
                            .unwrap()
                            .to_owned(),
                    );
                    assert_eq!(snapshot(root), before, "step {n}: target changed");
                }
                Ok(out) if out.warnings.is_empty() => {
                    // Step n was never reached: every step has been covered.
                    assert_new_state(root, &files, &remove);
                    assert!(strays(root).is_empty());
                    break;
                }
                Ok(out) => {
                    // A fault after the commit point: new state, a backup left.
                    warned += 1;
                    assert!(out.warnings[0].contains("injected fault"), "{:?}", out.warnings);
                    assert_new_state(root, &files, &remove);
                }
            }
            let out = commit(root, &files, &remove, &ours).unwrap();
            assert_new_state(root, &files, &remove);
            assert!(strays(root).is_empty(), "step {n}: {:?}", strays(root));
            assert!(commit(root, &files, &remove, &ours).unwrap().is_noop());
            drop(out);
        }
        eprintln!("{errors} injected failure points rolled back, {warned} after the commit point");
        // 7 dirs x2, 4 temps x4, 1 link, 5 renames, 6 dir syncs, 2 unlinks.
        assert!(errors >= 40, "only {errors} failing steps");
        assert_eq!(warned, 3, "one per backup deleted in phase 4");
        let want = ["mkdir", "chmod", "create", "write", "fsync", "link", "rename"];
        for k in want {
            assert!(kinds.contains(k), "no failing {k} step: {kinds:?}");
        }
    }
}
