//! `plan`, `apply` and `remove`: wiring of the shared [`Pipeline`].

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ExitCode;
use crate::cli::{ApplyArgs, Format, PlanArgs, RemoveArgs};
use crate::pipeline::{Pipeline, Target, warn, write_out};
use crate::render;
use crate::report::describe::{change_word, describe, describe_changes};
use crate::write::{self, Change};

pub fn cmd_plan(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (config, format) = (&args.config, args.format);
    let target = &Target {
        sysfs: args.sysfs.clone(),
        root: args.target.clone(),
    };
    let cfg = crate::intent::config::load(config)?;
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

pub fn cmd_apply(args: &ApplyArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let config = &args.config;
    let target = &Target {
        sysfs: args.sysfs.clone(),
        root: args.target.clone(),
    };
    let cfg = crate::intent::config::load(config)?;
    let Some(sriov) = cfg.sriov.clone() else {
        writeln!(out, "{}: no sriov section: nothing to do", config.display())?;
        return Ok(ExitCode::Success);
    };
    let p = Pipeline::build(target, &cfg, &sriov)?;
    write_out(&p, &target.root, args.dry_run, out, err)?;
    Ok(ExitCode::Success)
}

pub fn cmd_remove(args: &RemoveArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (root, dry_run) = (args.target.as_path(), args.dry_run);
    // The state says what was handed over: read it before it goes.
    let state = root.join(render::STATE_PATH.trim_start_matches('/'));
    let handed_over = state.exists().then(|| crate::state::load(&state)).transpose()?;
    let mut remove: Vec<PathBuf> = render::ALL_PATHS.iter().map(PathBuf::from).collect();
    remove.extend(crate::pipeline::stale_manifests(root));
    let outcome = if dry_run {
        write::preview(root, &[], &remove, &render::owned)?
    } else {
        write::commit(root, &[], &remove, &render::owned)?
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
    if let Some(plan) = handed_over {
        let commands = render::handoff::leftovers(&plan);
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
