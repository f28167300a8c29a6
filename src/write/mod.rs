//! Put files into the target root (the installed system) as one
//! transaction, without ever writing outside it.
//!
//! # Path resolution: one resolver, directory handles only
//!
//! Every managed path is absolute *inside* the target (`/oem/x.yaml` means
//! `TARGET/oem/x.yaml`) and is resolved chroot-style. Every access to the
//! target — the writer's, the reads of `verify`, `plan`'s diff, `configure`
//! and `remove` ([`open_file`]), the hook's log ([`append`]) and the unit's
//! enable link ([`remove_link`]) — goes through this one resolver:
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
//! # Transaction
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
//! In the unit tests (and only there: the fail points are `#[cfg(test)]`,
//! so no other build has them), `commit_with` takes `fail_at: Option<usize>`:
//! every mutating step of phases 2–4 (create directory, create temp, write,
//! chmod, fsync, link, rename, unlink, fsync directory) is numbered from 0
//! and step `fail_at` fails with an injected I/O error. Rollback steps
//! count too but run after the fault, so they succeed (the tests also fail
//! rollback steps, through a variant taking a list of steps). They run
//! both with `openat2` and with the component walk.

pub(crate) mod answers;
mod dir;
mod journal;
mod link;
mod lock;
mod read;
mod resolve;
mod stale;
pub(crate) mod state;
mod transaction;
mod types;

use self::dir::*;
use self::journal::*;
pub(crate) use self::link::*;
use self::lock::*;
pub(crate) use self::read::*;
use self::resolve::*;
use self::stale::*;
pub(crate) use self::transaction::*;
pub(crate) use self::types::*;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::ffi::OsString;

    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};

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
    fn append_creates_appends_and_never_follows_a_final_symlink() {
        let (_t, target, outside) = with_canary();
        let log = Path::new("/oem/harvester-sriov/hook.log");
        append(&target, log, b"one\n").unwrap();
        append(&target, log, b"two\n").unwrap();
        let host = target.join("oem/harvester-sriov/hook.log");
        assert_eq!(fs::read(&host).unwrap(), b"one\ntwo\n");
        assert_eq!(mode_of(&host), 0o600);
        fs::remove_file(&host).unwrap();
        symlink(outside.join("canary"), &host).unwrap();
        assert!(matches!(
            append(&target, log, b"x"),
            Err(FsError::FinalSymlink { .. })
        ));
        assert_canary_alone(&outside);
    }

    #[test]
    fn remove_link_takes_only_our_link() {
        let (_t, target, outside) = with_canary();
        let wants = target.join("etc/systemd/system/multi-user.target.wants");
        fs::create_dir_all(&wants).unwrap();
        let (link, dest) = (
            Path::new("/etc/systemd/system/multi-user.target.wants/u.service"),
            Path::new("/etc/systemd/system/u.service"),
        );
        assert_eq!(
            remove_link(&target, link, dest, false).unwrap(),
            LinkState::Absent
        );
        symlink("/somewhere/else.service", wants.join("u.service")).unwrap();
        assert_eq!(
            remove_link(&target, link, dest, false).unwrap(),
            LinkState::NotOurs
        );
        fs::remove_file(wants.join("u.service")).unwrap();
        symlink(dest, wants.join("u.service")).unwrap();
        assert_eq!(
            remove_link(&target, link, dest, true).unwrap(),
            LinkState::Removed
        );
        assert!(wants.join("u.service").is_symlink(), "dry run removed it");
        assert_eq!(
            remove_link(&target, link, dest, false).unwrap(),
            LinkState::Removed
        );
        assert!(!wants.join("u.service").is_symlink());
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
        execute(&Ops::default(), &planned).unwrap();
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
