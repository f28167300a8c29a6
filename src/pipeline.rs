//! The one way from intent to files: scan sysfs, plan, render, and write
//! (or preview) into the target. `plan`, `apply`, `configure` and `hook`
//! all end here, so the same answers give the same files, byte for byte.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::intent::config::Intent;
use crate::plan::{self, Plan};
use crate::render;
use crate::report::describe::{OldVersions, describe, describe_changes};
use crate::scan::sysfs::{self, Inventory, ScanOptions};
use crate::write::{self, FileSpec, Outcome};

/// Where the inventory comes from and where the files go.
pub(crate) struct Target {
    pub(crate) sysfs: PathBuf,
    pub(crate) root: PathBuf,
}

impl Target {
    /// From a command's `--sysfs` and `--target`.
    pub(crate) fn new(sysfs: &Path, root: &Path) -> Target {
        Target {
            sysfs: sysfs.to_owned(),
            root: root.to_owned(),
        }
    }
}

/// The node name: `os.hostname`, else this machine's hostname.
fn node_name(cfg: &Intent) -> anyhow::Result<String> {
    if let Some(h) = &cfg.hostname {
        return Ok(h.clone());
    }
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .context("os.hostname is not set and /proc/sys/kernel/hostname is unreadable")?;
    Ok(h.trim().to_owned())
}

/// Refuse to replace a state that a newer harvester-sriov wrote in `root`:
/// `apply`, `configure` and `hook` would downgrade that node. Any other
/// problem with the state there is no reason not to replace it.
fn refuse_newer(root: &Path) -> Result<(), crate::state::StateError> {
    // an older version's state.yaml was only ever written by 0.1.0
    let Ok(Some(found)) = write::state::find(root) else {
        return Ok(());
    };
    if found.older {
        return Ok(());
    }
    match found.load() {
        Err(e @ crate::state::StateError::Newer { .. }) => Err(e),
        _ => Ok(()),
    }
}

/// One warning per management NIC of `install.management_interface.interfaces`
/// that is not on this node. The installer looks a NIC up by `name` when it
/// has one, else by `hwAddr` (parsed with Go's `net.ParseMAC` and compared
/// in its canonical form, lower case with colons, as `canonical_mac` gives
/// it), among all the node's interfaces, and stops the install when a
/// `hwAddr` alone matches none (harvester/harvester-installer:
/// pkg/config/config.go `FindNetworkInterfaceName`,
/// `FindNetworkInterfaceHwAddr`). Nothing is said when `class/net` cannot
/// be listed: then nothing is known.
fn missing_management(cfg: &Intent, inv: &Inventory) -> Vec<String> {
    let Some(net) = &inv.net else {
        return vec![];
    };
    let key = "install.management_interface.interfaces";
    let mut out = vec![];
    for (i, m) in cfg.management.iter().enumerate() {
        let file = cfg.file.display();
        let unprotected = "no NIC on this node is left alone as the management NIC by this entry";
        if let Some(name) = &m.name {
            if net.iter().any(|n| n.name == *name) {
                continue;
            }
            // with a name, the installer looks only the name up
            let installer = match m.hw_addr {
                None => format!("the installer stops with \"no interface matching name {name} found\""),
                Some(_) => "the installer configures the management network on this name".to_owned(),
            };
            out.push(format!(
                "{file}: {key}[{i}].name: this node has no interface {name:?}: {installer}; {unprotected} (wrong node or wrong name?)"
            ));
        } else if let Some(mac) = &m.hw_addr
            && !net.iter().any(|n| n.mac.as_ref() == Some(mac))
        {
            out.push(format!(
                "{file}: {key}[{i}].hwAddr: no interface on this node has MAC {mac}: the installer stops with \"no interface matching hardware address\"; {unprotected}"
            ));
        }
    }
    out
}

/// This program's own bytes, to be installed as /oem/harvester-sriov/harvester-sriov.
fn own_binary() -> anyhow::Result<Vec<u8>> {
    let exe = std::env::current_exe().context("finding this program to install it under /oem")?;
    std::fs::read(&exe).with_context(|| format!("{}: reading this program to install it", exe.display()))
}

/// The /oem paths a plan with `files` does not write: the log, the answers
/// and the OS version `boot` saw are not the plan's, and a new plan keeps them.
fn oem_removals(files: &[FileSpec]) -> Vec<PathBuf> {
    crate::layout::OEM_PATHS
        .iter()
        .filter(|p| !crate::layout::KEPT_BY_A_NEW_PLAN.contains(p))
        .map(PathBuf::from)
        .filter(|p| !files.iter().any(|f| f.path == *p))
        .collect()
}

/// `boot`, when a planned PF has another name or address: rewrite the
/// node's files in `root` for `plan` as `apply --now` does (the /oem files
/// and the copies outside /oem, the hand-off of the old name removed),
/// keeping the installed binary as it is.
pub(crate) fn rewrite_installed(plan: Plan, root: &Path) -> anyhow::Result<Outcome> {
    let binary_path = Path::new(crate::layout::BINARY_PATH);
    let binary = match write::read_file(root, binary_path, 256 << 20)? {
        Some((_, bytes)) => bytes,
        None => anyhow::bail!(
            "{}: missing: the node's files cannot be rewritten without the installed harvester-sriov",
            root.join(binary_path.strip_prefix("/").unwrap_or(binary_path))
                .display()
        ),
    };
    let files = render::files(&plan, &binary).context("rendering the state file")?;
    let remove = oem_removals(&files);
    Pipeline {
        plan,
        files,
        remove,
        inventory: Inventory::default(),
        install_mode: None,
    }
    .materialised(root)
    .commit(root)
}

/// Everything one run decided, ready to preview or commit: built complete
/// by [`Pipeline::build`] or [`Pipeline::for_answers`] (or, for `boot`,
/// [`rewrite_installed`]), and only read after that.
pub(crate) struct Pipeline {
    plan: Plan,
    files: Vec<FileSpec>,
    remove: Vec<PathBuf>,
    inventory: Inventory,
    /// `install.mode` of the config: a create node's rke2 server applies
    /// the hand-off itself, so the note for join nodes is not said there.
    install_mode: Option<String>,
}

impl Pipeline {
    /// Scan, plan and render for `intent`; with `now` (a running node), also
    /// the files outside /oem ([`Pipeline::materialised`]). Writes nothing.
    pub(crate) fn build(target: &Target, intent: &Intent, now: bool) -> anyhow::Result<Pipeline> {
        // before anything is said: a newer harvester-sriov's node is not downgraded
        refuse_newer(&target.root)?;
        // The program's own bytes (installed under /oem) are read while
        // sysfs is scanned: both take milliseconds, neither needs the other.
        let (inventory, binary) = std::thread::scope(|s| {
            let binary = intent.sriov.enabled.then(|| s.spawn(own_binary));
            let inventory = sysfs::scan(&target.sysfs, ScanOptions::default());
            (
                inventory,
                binary.map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("reading this program failed")))
                }),
            )
        });
        let mut p = Self::assemble(inventory?, intent, binary.transpose()?)?;
        let profiles = nm_profiles(&target.root);
        p.plan
            .warnings
            .extend(render::networkmanager::sriov_profile_warnings(&p.plan, &profiles));
        Ok(if now { p.materialised(&target.root) } else { p })
    }

    /// `configure`: plan the console's answers (`intent`) on the inventory
    /// it asked about, and keep the answers on the node, next to the state
    /// (as `ANSWERS_PATH`: not `*.yaml`, which yip would load); with `now`,
    /// also the files outside /oem in `root`. Writes nothing.
    pub(crate) fn for_answers(
        inventory: Inventory,
        intent: &Intent,
        root: &Path,
        now: bool,
    ) -> anyhow::Result<Pipeline> {
        let mut p = Self::assemble(inventory, intent, None)?;
        p.files.push(FileSpec {
            path: PathBuf::from(crate::layout::ANSWERS_PATH),
            contents: render::answers::render_answers(&intent.sriov)?.into_bytes(),
            mode: 0o600,
        });
        Ok(if now { p.materialised(root) } else { p })
    }

    /// `binary`: the program's bytes when already read; read here when the
    /// plan needs them and they were not.
    fn assemble(inventory: Inventory, cfg: &Intent, binary: Option<Vec<u8>>) -> anyhow::Result<Pipeline> {
        let node = node_name(cfg)?;
        let mut plan = plan::build(&inventory.devices, cfg, &node)?;
        plan.warnings.extend(cfg.warnings.iter().cloned());
        plan.warnings.extend(missing_management(cfg, &inventory));
        plan.notices.extend(render::networkmanager::notices(&plan));
        let binary = match binary {
            _ if plan.pfs.is_empty() => vec![],
            Some(bytes) => bytes,
            None => own_binary()?,
        };
        let files = render::files(&plan, &binary).context("rendering the state file")?;
        let remove = oem_removals(&files);
        Ok(Pipeline {
            plan,
            files,
            remove,
            inventory,
            install_mode: cfg.install_mode.clone(),
        })
    }

    /// For a running node (`--now`): also write the files the yip file writes
    /// at every boot, as it would, and remove those of an earlier plan this
    /// one no longer has (the fixed paths, the ones the installed yip file
    /// names, and our hand-off files of another name).
    fn materialised(mut self, root: &Path) -> Pipeline {
        let extra = render::materialised(&self.plan);
        let gone = ours_outside_oem(root);
        self.files.extend(extra);
        for p in gone {
            if !self.files.iter().any(|f| f.path == p) && !self.remove.contains(&p) {
                self.remove.push(p);
            }
        }
        self
    }

    /// What was planned.
    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Every file this run writes.
    pub(crate) fn files(&self) -> &[FileSpec] {
        &self.files
    }

    /// What to remove in `root`: the paths this plan does not write (under
    /// /oem, and with `--now` outside it), and our hand-off files of an
    /// earlier plan (another policy hash, a renamed node) that the yip file
    /// wrote at boot: the yip file writes the new ones but deletes nothing.
    fn removals(&self, root: &Path) -> Vec<PathBuf> {
        let mut remove = self.remove.clone();
        let wanted: Vec<PathBuf> = render::manifests(&self.plan)
            .into_iter()
            .map(|f| f.path)
            .collect();
        for p in stale_manifests(root) {
            if !wanted.contains(&p) && !self.files.iter().any(|f| f.path == p) && !remove.contains(&p) {
                remove.push(p);
            }
        }
        remove
    }

    pub(crate) fn preview(&self, root: &Path) -> anyhow::Result<Outcome> {
        refuse_newer(root)?;
        Ok(write::preview(
            root,
            &self.files,
            &self.removals(root),
            &crate::layout::owned,
        )?)
    }

    pub(crate) fn commit(&self, root: &Path) -> anyhow::Result<Outcome> {
        refuse_newer(root)?;
        Ok(write::commit(
            root,
            &self.files,
            &self.removals(root),
            &crate::layout::owned,
        )?)
    }
}

/// Everything of this tool's that may be in `root` outside /oem: the fixed
/// paths the yip file materialises, the paths the installed yip file names
/// (an older or newer version may name others), and our hand-off files in
/// the manifests directory. What `--now` replaces and `remove` removes;
/// the writer's `owned` check still asks about each before it is touched.
pub(crate) fn ours_outside_oem(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = crate::layout::MATERIALISED_PATHS
        .iter()
        .map(PathBuf::from)
        .collect();
    for p in installed_yip_paths(root).into_iter().chain(stale_manifests(root)) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The files outside /oem that the yip file installed in `root` writes at
/// boot (empty when there is none, or it is not ours).
fn installed_yip_paths(root: &Path) -> Vec<PathBuf> {
    let yip = Path::new(crate::layout::YIP_PATH);
    match write::read_file(root, yip, 4 * 1024 * 1024) {
        Ok(Some((_, bytes))) if crate::layout::owned(yip, &bytes) => {
            render::paths_in_yip(&String::from_utf8_lossy(&bytes))
        }
        _ => vec![],
    }
}

/// NetworkManager's keyfile profiles in `root` (`*.nmconnection`, as
/// harvester/harvester-installer:`pkg/config/cos.go` names them and NM's keyfile
/// plugin reads them): (the path to name it by, its text). The directory is
/// listed and each file read through the writer's resolver; one that cannot
/// be read is left out (NM ignores such files too), a missing directory
/// (Harvester before v1.7) gives none.
pub(crate) fn nm_profiles(root: &Path) -> Vec<(String, String)> {
    let dir = Path::new(crate::layout::NM_CONNECTIONS_DIR);
    let Ok(names) = write::list_dir(root, dir) else {
        return vec![];
    };
    names
        .into_iter()
        .filter(|n| n.ends_with(".nmconnection"))
        .filter_map(|n| {
            let logical = dir.join(&n);
            match write::read_file(root, &logical, 1024 * 1024) {
                Ok(Some((_, bytes))) => Some((
                    logical.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )),
                _ => None,
            }
        })
        .collect()
}

/// This tool's hand-off files now in `root`'s manifests directory: our
/// name (`layout::is_handoff_name`) and ours by `layout::owned` (someone
/// else's file of a similar name stays). Listed and read through the
/// writer's resolver; a name that is no regular file is not ours.
fn stale_manifests(root: &Path) -> Vec<PathBuf> {
    let dir = Path::new(crate::layout::MANIFEST_DIR);
    let Ok(names) = write::list_dir(root, dir) else {
        return vec![];
    };
    names
        .into_iter()
        .filter(|n| crate::layout::is_handoff_name(n))
        .map(|n| dir.join(n))
        .filter(
            |p| matches!(write::read_prefix(root, p), Ok(Some(prefix)) if crate::layout::owned(p, &prefix)),
        )
        .collect()
}

/// The `X.skip` files `handoff --before-rke2-start` left beside the
/// hand-off files among `paths`, when ours (an admin's own stays).
pub(crate) fn our_skips(root: &Path, paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = vec![];
    for manifest in paths
        .iter()
        .filter(|p| p.starts_with(crate::layout::MANIFEST_DIR))
    {
        let skip = crate::layout::skip_path(manifest);
        if write::read_prefix(root, &skip)?.is_some_and(|b| crate::layout::owned(&skip, &b)) {
            out.push(skip);
        }
    }
    Ok(out)
}

pub(crate) fn warn(err: &mut dyn Write, p: &Pipeline) -> std::io::Result<()> {
    let (plan, inv) = (&p.plan, &p.inventory);
    for w in &inv.warnings {
        writeln!(err, "warning: {w}")?;
    }
    for n in &plan.notices {
        writeln!(err, "notice: {n}")?;
    }
    for w in &plan.warnings {
        writeln!(err, "warning: {w}")?;
    }
    if !render::handoff::files(plan).is_empty() && p.install_mode.as_deref() != Some("create") {
        writeln!(
            err,
            "note: rke2 applies {}/ on server nodes only; on a join (agent) node run `{} | kubectl apply -f -` with cluster access, or wait for its promotion (harvester-sriov docs/handoff.md)",
            crate::layout::MANIFEST_DIR,
            crate::shell::command([crate::layout::BINARY_PATH, "handoff"])
        )?;
    }
    Ok(())
}

/// Write (or with `dry_run` only show) a pipeline's files. Shared by
/// `apply`, `configure` and `hook`.
pub(crate) fn write_out(
    p: &Pipeline,
    root: &Path,
    dry_run: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    warn(err, p)?;
    out.write_all(describe(&p.plan).as_bytes())?;
    write_files(p, root, dry_run, out)
}

/// The writing half of [`write_out`], for `configure`, which showed the
/// plan and its warnings before asking.
pub(crate) fn write_files(
    p: &Pipeline,
    root: &Path,
    dry_run: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if dry_run {
        let outcome = p.preview(root)?;
        writeln!(out, "dry run: nothing written; {} would get:", root.display())?;
        out.write_all(describe_changes(root, &p.files, &outcome, None).as_bytes())?;
    } else {
        let outcome = p.commit(root)?;
        writeln!(out, "wrote {}:", root.display())?;
        out.write_all(describe_changes(root, &p.files, &outcome, None).as_bytes())?;
    }
    Ok(())
}

/// The largest old version `plan` reads to show a diff.
const OLD_VERSION_LIMIT: u64 = 4 * 1024 * 1024;

/// The versions now in `root` of the text files `outcome` changes, read as
/// the writer finds them, for `plan`'s diff ([`describe_changes`]).
pub(crate) fn old_versions(root: &Path, files: &[FileSpec], outcome: &Outcome) -> OldVersions {
    outcome
        .changes
        .iter()
        .filter(|(path, change)| {
            *change != write::Change::Unchanged
                && files
                    .iter()
                    .any(|f| f.path == *path && std::str::from_utf8(&f.contents).is_ok())
        })
        .map(|(path, _)| {
            let old = match write::read_file(root, path, OLD_VERSION_LIMIT) {
                Ok(Some((_, bytes))) => Ok(bytes),
                Ok(None) => Ok(Vec::new()),
                Err(e) => Err(crate::error_message(&anyhow::Error::from(e))),
            };
            (path.clone(), old)
        })
        .collect()
}
