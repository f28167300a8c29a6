//! `harvester-sriov fleet-check`: one install config against several nodes'
//! `detect --format json`, before the fleet's install (`plan::fleet`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::ExitCode;
use crate::cli::{FleetCheckArgs, Format};
use crate::plan::fleet::{self, Clash, Holder, Node, Role};
use crate::scan::device::Detected;

/// A detect output larger than this is refused (`detect --all` of the
/// 4,096 functions of scripts/bench.sh's tree is 2.4 MB).
const MAX_DETECT_BYTES: u64 = 64 * 1024 * 1024;

/// `NAME=FILE`, or `FILE` named after its file name without `.json`.
fn node_spec(spec: &str) -> anyhow::Result<(String, PathBuf)> {
    let (name, file, from) = match spec.split_once('=') {
        Some((name, file)) if !name.contains('/') && !name.is_empty() => {
            (name.to_owned(), PathBuf::from(file), "NAME=FILE")
        }
        _ => {
            let file = PathBuf::from(spec);
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy())
                .map(|n| n.strip_suffix(".json").unwrap_or(&n).to_owned())
                .unwrap_or_default();
            (name, file, "the file name")
        }
    };
    if !crate::intent::labels::dns_subdomain_ok(&name) {
        bail!(
            "NODE {spec:?}: node name {name:?} (from {from}) is not a valid Kubernetes node name (lower-case DNS subdomain): give it as NAME=FILE"
        );
    }
    Ok((name, file))
}

/// One node's detect output, or why it is not one.
fn read_detect(file: &Path) -> anyhow::Result<Vec<crate::scan::device::Device>> {
    let name = file.display();
    // A FIFO or a device (/dev/zero) would never end: only regular files.
    let meta = std::fs::metadata(file).with_context(|| format!("{name}: cannot read it"))?;
    if !meta.is_file() {
        bail!("{name}: not a regular file: give the file `detect --format json` wrote");
    }
    let f = std::fs::File::open(file).with_context(|| format!("{name}: cannot read it"))?;
    let Some(bytes) = crate::bounded::read_at_most(f, MAX_DETECT_BYTES)
        .with_context(|| format!("{name}: cannot read it"))?
    else {
        bail!("{name}: larger than {MAX_DETECT_BYTES} bytes: not a detect output");
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name}: not UTF-8 (at byte {}): not a detect output",
            e.utf8_error().valid_up_to()
        )
    })?;
    let detected: Detected = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{name}: not `detect --format json` output: {e}"))?;
    Ok(detected.devices)
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `1 PF`, `2 PFs`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn holder_words(h: &Holder) -> String {
    let iface = h.pf_interface.as_deref().unwrap_or("no interface");
    let role = match h.role {
        Role::Vf { id, stable: true } => format!("VF {id} (stable)"),
        Role::Vf { id, stable: false } => format!("VF {id} (fixed)"),
        Role::Pf => "its own MAC".to_owned(),
    };
    format!("{} {} ({iface}) {role}", h.node, h.pf_address)
}

/// Why the MACs are the same, and what to do.
fn clash_hint(c: &Clash) -> &'static str {
    let has = |stable: bool| {
        c.holders
            .iter()
            .any(|h| matches!(h.role, Role::Vf { stable: s, .. } if s == stable))
    };
    let (fixed, stable) = (has(false), has(true));
    if c.holders.iter().any(|h| h.role == Role::Pf) {
        "a VF would get the MAC another function of the fleet has: give that VF another mac_address"
    } else if fixed && !stable {
        "a fixed mac_address in a rule that matches on several nodes: give each node its own config (or rule, by serial or address), or use `stable`"
    } else if stable && !fixed {
        let mut ids = c.holders.iter().map(|h| &h.pf_identity);
        let first = ids.next();
        if ids.all(|i| Some(i) == first) {
            "`stable` derives from the PF's serial number (else its MAC): these PFs report the same one (cloned serial numbers?): give them fixed MACs"
        } else {
            "two PF identities derive the same stable MAC (a chance collision: 30 bits of a stable MAC come from the identity): give one of these VFs a fixed MAC"
        }
    } else {
        "a fixed mac_address equals a stable MAC of another node: choose another fixed MAC"
    }
}

/// `fleet-check`'s options, built once from its flags: every `NODE` named
/// and checked (a node or a file given twice is refused here).
pub(crate) struct Options {
    pub(crate) config: PathBuf,
    /// Each node's name and its detect output, in the order given.
    pub(crate) nodes: Vec<(String, PathBuf)>,
    pub(crate) format: Format,
}

impl TryFrom<&FleetCheckArgs> for Options {
    type Error = anyhow::Error;

    fn try_from(args: &FleetCheckArgs) -> anyhow::Result<Self> {
        Ok(Options {
            config: args.config.clone(),
            nodes: node_specs(&args.nodes)?,
            format: args.format,
        })
    }
}

/// Every `NODE` argument as (name, file); a name or a file given twice is refused.
fn node_specs(nodes: &[String]) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut specs: Vec<(String, PathBuf)> = vec![];
    for spec in nodes {
        let (name, file) = node_spec(spec)?;
        if let Some((_, other)) = specs.iter().find(|(n, _)| *n == name) {
            bail!(
                "NODE {spec:?}: node {name} is given twice (also {}): name them with NAME=FILE",
                other.display()
            );
        }
        // the same file twice is two identical nodes: every MAC would clash
        let real = std::fs::canonicalize(&file).ok();
        if let Some((other, _)) = specs
            .iter()
            .find(|(_, f)| real.is_some() && std::fs::canonicalize(f).ok() == real)
        {
            bail!(
                "NODE {spec:?}: {} is given for node {other} too: each node needs its own detect output",
                file.display()
            );
        }
        specs.push((name, file));
    }
    Ok(specs)
}

pub(crate) fn run(args: &Options, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let specs = &args.nodes;
    let cfg = crate::intent::config::load(&args.config)?;
    let Some(intent) = cfg.intent() else {
        let text = format!("{}: no sriov section: nothing to check", args.config.display());
        match args.format {
            Format::Json => writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "warnings": [text], "nodes": [], "unmatched": [], "clashes": [], "vf_macs": 0
                }))?
            )?,
            Format::Table => writeln!(out, "{text}")?,
        }
        return Ok(ExitCode::Success);
    };
    let mut nodes = vec![];
    for (name, file) in specs {
        nodes.push(Node {
            name: name.clone(),
            devices: read_detect(file)?,
        });
    }
    let fleet = fleet::check(&nodes, &intent).map_err(|e| {
        let file = specs
            .iter()
            .find(|(n, _)| *n == e.node)
            .map_or_else(String::new, |(_, f)| format!(" ({})", f.display()));
        anyhow::anyhow!("node {}{file}: {}", e.node, e.source)
    })?;
    let code = if fleet.clashes.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::FleetClash
    };
    if args.format == Format::Json {
        let doc = json_report(&intent.warnings, &fleet, specs);
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(code);
    }
    for w in &intent.warnings {
        writeln!(out, "warning: {w}")?;
    }
    // A warning every node's plan gives is said once.
    let everywhere: Vec<&String> = match fleet.plans.as_slice() {
        [(_, first), rest @ ..] if !rest.is_empty() => first
            .warnings
            .iter()
            .filter(|w| rest.iter().all(|(_, p)| p.warnings.contains(w)))
            .collect(),
        _ => vec![],
    };
    for w in &everywhere {
        writeln!(out, "warning: every node: {w}")?;
    }
    for ((name, plan), (_, file)) in fleet.plans.iter().zip(specs) {
        let vfs: usize = plan.pfs.iter().map(|p| usize::from(p.num_vfs)).sum();
        let macs = plan
            .pfs
            .iter()
            .flat_map(|p| &p.vfs)
            .filter(|v| v.mac.is_some())
            .count();
        writeln!(
            out,
            "node {name} ({}): {} planned, {}, {macs} with a planned MAC; {} left alone",
            file.display(),
            count(plan.pfs.len(), "PF"),
            count(vfs, "VF"),
            count(plan.skipped.len(), "SR-IOV function")
        )?;
        for w in plan.warnings.iter().filter(|w| !everywhere.contains(w)) {
            writeln!(out, "warning: node {name}: {w}")?;
        }
    }
    for u in &fleet.unmatched {
        writeln!(
            out,
            "unmatched: sriov.devices[{}] (match {}) matches no SR-IOV function on {} of {} nodes: {}",
            u.rule,
            u.matcher,
            u.nodes.len(),
            nodes.len(),
            u.nodes.join(", ")
        )?;
    }
    for c in &fleet.clashes {
        let words: Vec<String> = c.holders.iter().map(holder_words).collect();
        writeln!(out, "clash: {} on {}", c.mac, and_list(&words))?;
        writeln!(out, "    hint: {}", clash_hint(c))?;
    }
    if fleet.clashes.is_empty() {
        writeln!(
            out,
            "{}, {}: no MAC shared by two functions",
            count(nodes.len(), "node"),
            count(fleet.vf_macs, "planned VF MAC")
        )?;
    } else {
        writeln!(
            out,
            "{}, {}: {} shared by two or more functions",
            count(nodes.len(), "node"),
            count(fleet.vf_macs, "planned VF MAC"),
            count(fleet.clashes.len(), "MAC")
        )?;
    }
    Ok(code)
}

/// `--format json`: the same findings, for a program.
fn json_report(
    config_warnings: &[String],
    fleet: &fleet::Fleet,
    specs: &[(String, PathBuf)],
) -> serde_json::Value {
    use serde_json::json;
    let nodes: Vec<serde_json::Value> = fleet
        .plans
        .iter()
        .zip(specs)
        .map(|((name, plan), (_, file))| {
            json!({
                "name": name,
                "file": file,
                "pfs": plan.pfs.iter().map(|p| json!({
                    "address": p.address,
                    "interface": p.interface,
                    "num_vfs": p.num_vfs,
                    "macs": p.vfs.iter().filter_map(|v| v.mac.as_ref().map(|m| json!({"vf": v.id, "mac": m, "stable": v.stable_mac}))).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "skipped": plan.skipped.len(),
                "warnings": plan.warnings,
            })
        })
        .collect();
    let clashes: Vec<serde_json::Value> = fleet
        .clashes
        .iter()
        .map(|c| {
            json!({
                "mac": c.mac,
                "holders": c.holders.iter().map(|h| {
                    let (vf, origin) = match h.role {
                        Role::Vf { id, stable: true } => (Some(id), "stable"),
                        Role::Vf { id, stable: false } => (Some(id), "fixed"),
                        Role::Pf => (None, "function"),
                    };
                    json!({"node": h.node, "pf": h.pf_address, "interface": h.pf_interface, "vf": vf, "origin": origin})
                }).collect::<Vec<_>>(),
                "hint": clash_hint(c),
            })
        })
        .collect();
    let unmatched: Vec<serde_json::Value> = fleet
        .unmatched
        .iter()
        .map(|u| json!({"rule": u.rule, "match": u.matcher, "nodes": u.nodes}))
        .collect();
    json!({
        "warnings": config_warnings,
        "nodes": nodes,
        "unmatched": unmatched,
        "clashes": clashes,
        "vf_macs": fleet.vf_macs,
    })
}
