//! `plan`, `apply` and `remove`: wiring of the shared [`Pipeline`].

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ExitCode;
use crate::cli::{ApplyArgs, Format, PlanArgs, RemoveArgs};
use crate::intent::config::Operator;
use crate::pipeline::{Pipeline, Target, our_skips, ours_outside_oem, warn, write_out};
use crate::plan::{Method, Plan};
use crate::render;
use crate::report::describe::{change_word, describe, describe_changes};
use crate::write::{self, Change, LinkState};

/// `plan`'s options, built once from its flags.
pub(crate) struct PlanOptions {
    pub(crate) config: PathBuf,
    pub(crate) target: Target,
    pub(crate) format: Format,
}

impl From<&PlanArgs> for PlanOptions {
    fn from(args: &PlanArgs) -> Self {
        PlanOptions {
            config: args.config.clone(),
            target: Target::new(&args.sysfs, &args.target),
            format: args.format,
        }
    }
}

/// `apply`'s options, built once from its flags.
pub(crate) struct ApplyOptions {
    pub(crate) config: PathBuf,
    pub(crate) target: Target,
    pub(crate) dry_run: bool,
    pub(crate) now: bool,
}

impl From<&ApplyArgs> for ApplyOptions {
    fn from(args: &ApplyArgs) -> Self {
        ApplyOptions {
            config: args.config.clone(),
            target: Target::new(&args.sysfs, &args.target),
            dry_run: args.dry_run,
            now: args.now,
        }
    }
}

/// `remove`'s options, built once from its flags.
pub(crate) struct RemoveOptions {
    pub(crate) root: PathBuf,
    pub(crate) dry_run: bool,
}

impl From<&RemoveArgs> for RemoveOptions {
    fn from(args: &RemoveArgs) -> Self {
        RemoveOptions {
            root: args.target.clone(),
            dry_run: args.dry_run,
        }
    }
}

pub(crate) fn cmd_plan(
    opts: &PlanOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let (config, format, target) = (&opts.config, opts.format, &opts.target);
    let cfg = crate::intent::config::load(config)?;
    let Some(intent) = cfg.intent() else {
        writeln!(out, "{}: no sriov section: nothing to plan", config.display())?;
        return Ok(ExitCode::Success);
    };
    let p = Pipeline::build(target, &intent, false)?;
    let outcome = p.preview(&target.root)?;
    match format {
        Format::Json => {
            let files: Vec<serde_json::Value> = outcome
                .changes
                .iter()
                .map(|(path, change)| {
                    let spec = p.files().iter().find(|f| f.path == *path);
                    serde_json::json!({
                        "path": path,
                        "change": change_word(*change),
                        "mode": spec.map(|f| format!("{:04o}", f.mode)),
                        "contents": spec.filter(|f| f.path != Path::new(crate::layout::BINARY_PATH)).map(|f| String::from_utf8_lossy(&f.contents)),
                    })
                })
                .collect();
            // The files outside /oem, as the yip file writes them at every boot.
            let mut files = files;
            for f in render::materialised(p.plan()) {
                files.push(serde_json::json!({
                    "path": f.path,
                    "change": "at-boot",
                    "mode": format!("{:04o}", f.mode),
                    "contents": String::from_utf8_lossy(&f.contents),
                }));
            }
            let doc = serde_json::json!({"plan": p.plan(), "notices": p.plan().notices, "warnings": p.plan().warnings, "files": files});
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Table => {
            warn(err, &p)?;
            out.write_all(describe(p.plan()).as_bytes())?;
            writeln!(out, "files in {} (nothing written):", target.root.display())?;
            let old = crate::pipeline::old_versions(&target.root, p.files(), &outcome);
            out.write_all(describe_changes(&target.root, p.files(), &outcome, Some(&old)).as_bytes())?;
            let at_boot = render::materialised(p.plan());
            if !at_boot.is_empty() {
                writeln!(out, "written at every boot by {}:", crate::layout::YIP_PATH)?;
                for f in at_boot {
                    writeln!(out, "  at boot   {}", f.path.display())?;
                }
            }
        }
    }
    Ok(ExitCode::Success)
}

pub(crate) fn cmd_apply(
    args: &ApplyOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let (config, target) = (&args.config, &args.target);
    let cfg = crate::intent::config::load(config)?;
    let Some(intent) = cfg.intent() else {
        writeln!(out, "{}: no sriov section: nothing to do", config.display())?;
        return Ok(ExitCode::Success);
    };
    let p = Pipeline::build(target, &intent, args.now)?;
    write_out(&p, &target.root, args.dry_run, out, err)?;
    if args.now && !args.dry_run {
        return boot_now(&p, target, out);
    }
    if !args.now && target.root == Path::new("/") {
        writeln!(
            err,
            "note: the files outside /oem are written at the next boot; on this running node, --now writes them (and removes those of an earlier plan){}",
            if p.plan().operator == Operator::Pcidevices {
                ""
            } else {
                " and creates the VFs now"
            }
        )?;
    }
    if !args.dry_run
        && !args.now
        && let Some(line) = who_creates_the_vfs(p.plan(), target.root == Path::new("/"))
    {
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::Success)
}

/// What happens to the planned VFs after a write without `--now`, in words
/// true for the plan's hand-off; `None` when no VFs are planned.
pub(crate) fn who_creates_the_vfs(plan: &Plan, running: bool) -> Option<String> {
    if plan.pfs.is_empty() {
        return None;
    }
    Some(match plan.operator {
        // harvester/pcidevices: pkg/controller/sriovdevice/sriovdevice_controller.go writes sriov_numvfs
        Operator::Pcidevices => "the VFs: with operator pcidevices this tool writes no VF count; the pcidevices agent does, once the cluster runs and this node's SRIOVNetworkDevice objects are applied (by rke2 on a create or server node; on a join node: `harvester-sriov handoff | kubectl apply -f -`, or at its promotion)".to_owned(),
        Operator::SriovNetworkOperator | Operator::None => {
            let param = plan.pfs.iter().any(|pf| pf.method == Method::ModuleParam);
            format!(
                "the VFs: {} writes each planned count at every boot, the next one first{}{}",
                crate::layout::UNIT_NAME,
                if param {
                    "; a mlx4_core card gets them from its module parameter when the driver loads"
                } else {
                    ""
                },
                if running { " (or now: run this again with --now)" } else { "" }
            )
        }
    })
}

/// `--now`: create the VFs right away, as the unit does at boot (with
/// operator pcidevices: only check the PFs, as the unit does).
pub(crate) fn boot_now(p: &Pipeline, target: &Target, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if p.plan().pfs.is_empty() {
        return Ok(ExitCode::Success);
    }
    if p.plan().operator == Operator::Pcidevices {
        writeln!(
            out,
            "checking the PFs now (as {} does at every boot; with operator pcidevices it writes no VF count: the pcidevices agent creates the VFs once the cluster runs and this node's SRIOVNetworkDevice objects are applied):",
            crate::layout::UNIT_NAME
        )?;
    } else {
        writeln!(
            out,
            "creating the VFs now (as {} does at every boot):",
            crate::layout::UNIT_NAME
        )?;
    }
    crate::commands::boot::run(&crate::commands::boot::Options::now(target), out)
}

/// Remove everything of the tool: its files under /oem (so nothing re-creates
/// the rest at the next boot), the copies the yip file wrote outside /oem at
/// boot (modprobe.d, the rke2 label file, the manifests, the unit), and the
/// unit's enable symlink. Files without our marker are never touched.
pub(crate) fn cmd_remove(args: &RemoveOptions, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (root, dry_run) = (args.root.as_path(), args.dry_run);
    // The state says what was handed over: read it before it goes. What is
    // removed does not depend on it (the marker and our own directory say
    // what is ours): a truncated state, or one of a newer version, still
    // goes, and only the list of cluster leftovers is lost.
    let handed_over = write::state::find(root)?.map(|found| {
        found
            .load()
            .map_err(|e| crate::error_message(&anyhow::Error::new(e)))
    });
    let mut remove: Vec<PathBuf> = crate::layout::OEM_PATHS.iter().map(PathBuf::from).collect();
    remove.extend(ours_outside_oem(root));
    // The `X.skip` that `handoff --before-rke2-start` left beside a hand-off
    // file of ours (an admin's own, without our marker, stays).
    let skips = our_skips(root, &remove)?;
    remove.extend(skips);
    let outcome = if dry_run {
        write::preview(root, &[], &remove, &crate::layout::owned)?
    } else {
        write::commit(root, &[], &remove, &crate::layout::owned)?
    };
    let link = write::remove_link(
        root,
        Path::new(crate::layout::UNIT_WANTS_LINK),
        Path::new(crate::layout::UNIT_PATH),
        dry_run,
    )?;
    let removed = outcome
        .changes
        .iter()
        .filter(|(_, c)| *c == Change::Remove)
        .count();
    if removed == 0 && link != LinkState::Removed {
        writeln!(out, "nothing of harvester-sriov in {}", root.display())?;
        return Ok(ExitCode::Success);
    }
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
    out.write_all(describe_changes(root, &[], &outcome, None).as_bytes())?;
    if link == LinkState::Removed {
        writeln!(
            out,
            "  remove    {} (the unit's enable link)",
            root.join(crate::layout::UNIT_WANTS_LINK.trim_start_matches('/'))
                .display()
        )?;
    }
    // Our own directory goes too, once its files are gone (anything else
    // in it keeps it).
    if write::remove_empty_dir(root, Path::new(crate::layout::STATE_DIR), dry_run)? {
        writeln!(
            out,
            "  remove    {}/ (its directory{})",
            root.join(crate::layout::STATE_DIR.trim_start_matches('/'))
                .display(),
            if dry_run { ", once empty" } else { "" }
        )?;
    }
    if !dry_run && root == Path::new("/") && link == LinkState::Removed {
        writeln!(
            out,
            "the VFs that exist now stay until the next boot; run `systemctl daemon-reload` to forget the unit"
        )?;
    }
    if let Some(Err(e)) = &handed_over {
        writeln!(
            out,
            "the state could not be read ({e}): the cluster leftovers (the objects, Addons and node labels \
             this node handed over) cannot be listed"
        )?;
    }
    if let Some(Ok(plan)) = handed_over {
        let mut commands = render::handoff::leftovers(&plan);
        // rke2 gives the kubelet its node-label options when the node
        // registers; a removed option takes no label off the Node.
        if !plan.labels.is_empty() {
            let unlabel: Vec<String> = plan.labels.keys().map(|k| format!("{k}-")).collect();
            let mut args = vec!["kubectl", "label", "node", plan.node.as_str()];
            args.extend(unlabel.iter().map(String::as_str));
            commands.push(format!(
                "{}   # the node labels this node was given",
                crate::shell::command(args)
            ));
        }
        if !commands.is_empty() {
            writeln!(
                out,
                "stays in the cluster (rke2 deletes nothing when a manifest file goes); to take it out, with cluster access:"
            )?;
            for c in commands {
                writeln!(out, "  {c}")?;
            }
        }
    }
    Ok(ExitCode::Success)
}
