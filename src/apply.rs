//! `plan`, `apply` and `remove`: config + inventory -> plan -> files -> target.
//! The interactive prompt and the installer hook end in [`Pipeline`] too:
//! there is one way to render and write.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::ExitCode;
use crate::cli::Format;
use crate::config::{InstallConfig, Sriov};
use crate::fsx::{self, Change, FileSpec, Outcome};
use crate::plan::{self, Plan};
use crate::render;
use crate::sysfs::{self, Inventory, ScanOptions};

/// Where the inventory comes from and where the files go.
pub struct Target {
    pub sysfs: PathBuf,
    pub root: PathBuf,
}

/// The node name: `os.hostname`, else this machine's hostname.
pub fn node_name(cfg: &InstallConfig) -> anyhow::Result<String> {
    if let Some(h) = &cfg.hostname {
        return Ok(h.clone());
    }
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .context("os.hostname is not set and /proc/sys/kernel/hostname is unreadable")?;
    Ok(h.trim().to_owned())
}

/// This program's own bytes, to be installed as /oem/harvester-sriov/harvester-sriov.
fn own_binary() -> anyhow::Result<Vec<u8>> {
    let exe = std::env::current_exe().context("finding this program to install it under /oem")?;
    std::fs::read(&exe).with_context(|| format!("{}: reading this program to install it", exe.display()))
}

/// Everything one run decided, ready to preview or commit.
pub struct Pipeline {
    pub plan: Plan,
    pub files: Vec<FileSpec>,
    pub remove: Vec<PathBuf>,
    pub inventory: Inventory,
}

impl Pipeline {
    /// Scan, plan and render. Writes nothing.
    pub fn build(target: &Target, cfg: &InstallConfig, sriov: &Sriov) -> anyhow::Result<Pipeline> {
        // The program's own bytes (installed under /oem) are read while
        // sysfs is scanned: both take milliseconds, neither needs the other.
        let (inventory, binary) = std::thread::scope(|s| {
            let binary = sriov.enabled.then(|| s.spawn(own_binary));
            let inventory = sysfs::scan(&target.sysfs, ScanOptions::default());
            (
                inventory,
                binary.map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("reading this program failed")))
                }),
            )
        });
        Self::assemble(inventory?, cfg, sriov, binary.transpose()?)
    }

    pub fn from_inventory(
        inventory: Inventory,
        cfg: &InstallConfig,
        sriov: &Sriov,
    ) -> anyhow::Result<Pipeline> {
        Self::assemble(inventory, cfg, sriov, None)
    }

    /// `binary`: the program's bytes when already read; read here when the
    /// plan needs them and they were not.
    fn assemble(
        inventory: Inventory,
        cfg: &InstallConfig,
        sriov: &Sriov,
        binary: Option<Vec<u8>>,
    ) -> anyhow::Result<Pipeline> {
        let node = node_name(cfg)?;
        let plan = plan::build(&inventory.devices, cfg, &node, sriov)?;
        let binary = match binary {
            _ if plan.pfs.is_empty() => vec![],
            Some(bytes) => bytes,
            None => own_binary()?,
        };
        let files = render::files(&plan, &binary).context("rendering the state file")?;
        let remove = render::ALL_PATHS
            .iter()
            .map(PathBuf::from)
            .filter(|p| !files.iter().any(|f| f.path == *p))
            .collect();
        Ok(Pipeline {
            plan,
            files,
            remove,
            inventory,
        })
    }

    pub fn preview(&self, root: &Path) -> anyhow::Result<Outcome> {
        Ok(fsx::preview(root, &self.files, &self.remove, &render::owned)?)
    }

    pub fn commit(&self, root: &Path) -> anyhow::Result<Outcome> {
        Ok(fsx::commit(root, &self.files, &self.remove, &render::owned)?)
    }
}

fn or_dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// The plan for a person: what gets VFs, what is left alone and why.
pub fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "node {}: SR-IOV {}, device type {}, hand-off to {}, resource {}{}",
        plan.node,
        if plan.enabled { "enabled" } else { "disabled" },
        plan.device_type,
        plan.operator,
        plan.resource_name,
        plan.mtu.map(|m| format!(", MTU {m}")).unwrap_or_default()
    );
    if plan.pfs.is_empty() {
        let _ = writeln!(s, "VFs at every boot: none");
    } else {
        let _ = writeln!(s, "VFs at every boot:");
        for p in &plan.pfs {
            let _ = writeln!(
                s,
                "  {}  {:<10} {}:{} {:<9} {} of {} VFs (VF {}:{}){}",
                p.address,
                or_dash(p.interface.as_deref()),
                p.vendor_id,
                p.device_id,
                p.driver,
                p.num_vfs,
                p.total_vfs,
                p.vendor_id,
                p.vf_device_id,
                if p.method == plan::Method::ModuleParam {
                    ", by module parameter"
                } else {
                    ""
                }
            );
        }
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(s, "left alone:");
        for k in &plan.skipped {
            let _ = writeln!(
                s,
                "  {}  {:<10} {}: {}",
                k.address,
                or_dash(k.interface.as_deref()),
                k.name,
                k.reason
            );
        }
    }
    if !plan.labels.is_empty() {
        let labels: Vec<String> = plan.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(s, "node labels: {}", labels.join(", "));
    }
    s
}

fn change_word(c: Change) -> &'static str {
    match c {
        Change::Create => "create",
        Change::Update => "update",
        Change::Unchanged => "unchanged",
        Change::Remove => "remove",
    }
}

/// The file list with a line diff of every text file that changes.
pub fn describe_changes(root: &Path, files: &[FileSpec], outcome: &Outcome, with_diff: bool) -> String {
    let mut s = String::new();
    for (path, change) in &outcome.changes {
        let _ = writeln!(
            s,
            "  {:<9} {}",
            change_word(*change),
            root.join(path.strip_prefix("/").unwrap_or(path)).display()
        );
        if !with_diff || matches!(change, Change::Unchanged) {
            continue;
        }
        let Some(new) = files.iter().find(|f| f.path == *path) else {
            continue;
        };
        let old = std::fs::read(root.join(path.strip_prefix("/").unwrap_or(path))).unwrap_or_default();
        match (std::str::from_utf8(&old), std::str::from_utf8(&new.contents)) {
            (Ok(o), Ok(n)) => s.push_str(&crate::diff::lines(o, n, "      ")),
            _ => {
                let _ = writeln!(s, "      (binary, {} bytes)", new.contents.len());
            }
        }
    }
    s
}

fn warn(err: &mut dyn Write, plan: &Plan, inv: &Inventory) -> std::io::Result<()> {
    for w in &inv.warnings {
        writeln!(err, "warning: {w}")?;
    }
    for n in &plan.notices {
        writeln!(err, "notice: {n}")?;
    }
    for w in &plan.warnings {
        writeln!(err, "warning: {w}")?;
    }
    if !plan.pfs.is_empty() {
        writeln!(
            err,
            "note: {} is applied by rke2 on server nodes only; on an agent node the objects come from a server (README: \"Hand-off to the cluster\")",
            render::MANIFEST_PATH
        )?;
    }
    Ok(())
}

pub fn cmd_plan(
    config: &Path,
    target: &Target,
    format: Format,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let Some(sriov) = cfg.sriov.clone() else {
        writeln!(out, "{}: no sriov section: nothing to plan", config.display())?;
        return Ok(ExitCode::Success);
    };
    let p = Pipeline::build(target, &cfg, &sriov)?;
    let outcome = p.preview(&target.root)?;
    match format {
        Format::Json => {
            let files: Vec<serde_json::Value> = outcome
                .changes
                .iter()
                .map(|(path, change)| {
                    let spec = p.files.iter().find(|f| f.path == *path);
                    serde_json::json!({
                        "path": path,
                        "change": change_word(*change),
                        "mode": spec.map(|f| format!("{:04o}", f.mode)),
                        "contents": spec.filter(|f| f.path != Path::new(render::BINARY_PATH)).map(|f| String::from_utf8_lossy(&f.contents)),
                    })
                })
                .collect();
            let doc = serde_json::json!({"plan": p.plan, "notices": p.plan.notices, "warnings": p.plan.warnings, "files": files});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Table => {
            warn(err, &p.plan, &p.inventory)?;
            out.write_all(describe(&p.plan).as_bytes())?;
            writeln!(out, "files in {} (nothing written):", target.root.display())?;
            out.write_all(describe_changes(&target.root, &p.files, &outcome, true).as_bytes())?;
        }
    }
    Ok(ExitCode::Success)
}

/// Write (or with `dry_run` only show) a pipeline's files. Shared by
/// `apply`, `configure` and `hook`.
pub fn write_out(
    p: &Pipeline,
    root: &Path,
    dry_run: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    warn(err, &p.plan, &p.inventory)?;
    out.write_all(describe(&p.plan).as_bytes())?;
    if dry_run {
        let outcome = p.preview(root)?;
        writeln!(out, "dry run: nothing written; {} would get:", root.display())?;
        out.write_all(describe_changes(root, &p.files, &outcome, false).as_bytes())?;
    } else {
        let outcome = p.commit(root)?;
        writeln!(out, "wrote {}:", root.display())?;
        out.write_all(describe_changes(root, &p.files, &outcome, false).as_bytes())?;
    }
    Ok(())
}

pub fn cmd_apply(
    config: &Path,
    target: &Target,
    dry_run: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let Some(sriov) = cfg.sriov.clone() else {
        writeln!(out, "{}: no sriov section: nothing to do", config.display())?;
        return Ok(ExitCode::Success);
    };
    let p = Pipeline::build(target, &cfg, &sriov)?;
    write_out(&p, &target.root, dry_run, out, err)?;
    Ok(ExitCode::Success)
}

pub fn cmd_remove(root: &Path, dry_run: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let remove: Vec<PathBuf> = render::ALL_PATHS.iter().map(PathBuf::from).collect();
    let outcome = if dry_run {
        fsx::preview(root, &[], &remove, &render::owned)?
    } else {
        fsx::commit(root, &[], &remove, &render::owned)?
    };
    let removed = outcome
        .changes
        .iter()
        .filter(|(_, c)| *c == Change::Remove)
        .count();
    if removed == 0 {
        writeln!(out, "nothing of harvester-sriov in {}", root.display())?;
    } else {
        writeln!(
            out,
            "{} {}:",
            if dry_run {
                "dry run: would remove from"
            } else {
                "removed from"
            },
            root.display()
        )?;
        out.write_all(describe_changes(root, &[], &outcome, false).as_bytes())?;
    }
    Ok(ExitCode::Success)
}
