//! Resolution: one logical path inside the target to a directory handle
//! and a final name, by `openat2(RESOLVE_IN_ROOT)` or the component walk.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{FileType, Mode, ResolveFlags};

use super::*;

/// A managed path resolved to a directory handle.
#[derive(Debug)]
pub(super) struct Resolved {
    pub(super) logical: PathBuf,
    /// `TARGET/<logical>`, for messages.
    pub(super) host: PathBuf,
    /// The deepest directory that exists on the way: the file's parent
    /// when `missing` is empty.
    pub(super) base: Dir,
    /// Directories to create below `base`, parent first.
    pub(super) missing: Vec<OsString>,
    pub(super) name: OsString,
    /// Whether the final component exists (a regular file).
    pub(super) exists: bool,
}

impl Resolved {
    /// The open parent directory, `None` when it does not exist yet.
    pub(super) fn parent(&self) -> Option<&Dir> {
        self.missing.is_empty().then_some(&self.base)
    }

    /// Identity on the host: two logical paths that meet through symlinks
    /// have the same key.
    pub(super) fn key(&self) -> ((u64, u64), Vec<OsString>) {
        let mut names = self.missing.clone();
        names.push(self.name.clone());
        (self.base.id, names)
    }

    pub(super) fn sibling(&self, suffix: &str) -> OsString {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(suffix);
        n
    }
    pub(super) fn tmp(&self) -> OsString {
        self.sibling(TMP_SUFFIX)
    }
    pub(super) fn bak(&self) -> OsString {
        self.sibling(BAK_SUFFIX)
    }
}

pub(super) enum Part {
    Name(OsString),
    Up,
}

pub(super) fn check_logical(path: &Path) -> Result<(), FsError> {
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
pub(super) fn resolve(root: &Root, logical: &Path) -> Result<Resolved, FsError> {
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
pub(super) fn final_component(parent: &Dir, name: &OsStr, host: &Path) -> Result<bool, FsError> {
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
pub(super) fn walk(root: &Root, logical: &Path, host: PathBuf) -> Result<Resolved, FsError> {
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

/// The directory at `logical` inside the target, resolved as every managed
/// path is (through a name in it that never exists): `None` when it (or a
/// directory on the way) does not exist.
pub(super) fn resolve_dir(root: &Root, logical: &Path) -> Result<Option<Dir>, FsError> {
    let probe = resolve(root, &logical.join(".harvester-sriov.probe"))?;
    Ok(probe.parent().cloned())
}
