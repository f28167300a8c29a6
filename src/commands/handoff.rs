//! `handoff`: this node's hand-off objects, from its state, for
//! `kubectl apply -f -`. The route for a join (agent) node: rke2 applies the
//! manifests directory on servers only (k3s-io/k3s:pkg/deploy/controller.go).
//!
//! `handoff --before-rke2-start` is rke2-server's `ExecStartPre` with
//! pcidevices: the node's hand-off file is applied by rke2 once per content,
//! then skipped ([`before_rke2_start`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ExitCode;
use crate::cli::HandoffArgs;
use crate::intent::config::Operator;
use crate::layout::{MARKER, skip_path};
use crate::plan::Plan;
use crate::render::{self, handoff};
use crate::write::{self, FileSpec};

/// `handoff`'s options, built once from its flags.
pub(crate) struct Options {
    pub(crate) state: crate::state::Source,
    pub(crate) root: PathBuf,
    pub(crate) before_rke2_start: bool,
}

impl From<&HandoffArgs> for Options {
    fn from(args: &HandoffArgs) -> Self {
        Options {
            state: crate::state::Source::from_flags(args.state.as_deref(), &args.target),
            root: args.target.clone(),
            before_rke2_start: args.before_rke2_start,
        }
    }
}

pub(crate) fn run(args: &Options, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // stdout is for kubectl: an older state.yaml is read without a word
    let plan = write::state::open(&args.state)?.load()?;
    if args.before_rke2_start {
        return before_rke2_start(&plan, &args.root, out);
    }
    let files = render::manifests(&plan);
    if files.is_empty() {
        writeln!(
            out,
            "# harvester-sriov: node {} hands nothing over (operator {})",
            plan.node, plan.operator
        )?;
        return Ok(ExitCode::Success);
    }
    for f in &files {
        writeln!(out, "# {} (node {})", f.path.display(), plan.node)?;
        out.write_all(&f.contents)?;
    }
    Ok(ExitCode::Success)
}

/// The stamp: which file, with which content, rke2 has been started with.
fn stamp(file: &FileSpec) -> String {
    format!(
        "{} {:016x}\n",
        file.path.display(),
        handoff::fnv1a(&file.contents)
    )
}

fn skip_file(manifest: &Path) -> FileSpec {
    FileSpec {
        path: skip_path(manifest),
        contents: format!(
            "{MARKER} rke2 applied {} at an earlier start; this file keeps it from\n\
             # applying it again (which would patch the install-time VF counts back over the UI's).\n\
             # `harvester-sriov apply` with other counts hands them over once more.\n",
            manifest.display()
        )
        .into_bytes(),
        mode: 0o644,
    }
}

/// Before every rke2-server start: the first start with this content of the
/// node's pcidevices file applies it (the stamp records it); every later
/// start finds `X.skip` and leaves the objects, and any count an admin set
/// since, alone. A new plan (other content) is applied once again.
fn before_rke2_start(plan: &Plan, root: &Path, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let node_file = PathBuf::from(handoff::node_file(&plan.node));
    let manifests = render::manifests(plan);
    let file = match manifests.iter().find(|f| f.path == node_file) {
        Some(f) if plan.operator == Operator::Pcidevices => f,
        _ => {
            writeln!(
                out,
                "harvester-sriov handoff: node {} has no pcidevices hand-off file: nothing to do before rke2 starts",
                plan.node
            )?;
            return Ok(ExitCode::Success);
        }
    };
    let stamp_path = Path::new(crate::layout::HANDOFF_STAMP_PATH);
    let now = stamp(file);
    let seen = write::read_file(root, stamp_path, 4096)?.map(|(_, b)| b);
    let skip = skip_path(&file.path);
    if seen.as_deref() == Some(now.as_bytes()) {
        let outcome = write::commit(root, &[skip_file(&file.path)], &[], &crate::layout::owned)?;
        let word = if outcome
            .changes
            .iter()
            .any(|(_, c)| *c == write::Change::Unchanged)
        {
            "kept"
        } else {
            "wrote"
        };
        writeln!(
            out,
            "harvester-sriov handoff: rke2 applied {} at an earlier start; {word} {}: the counts are the cluster's now",
            file.path.display(),
            skip.display()
        )?;
    } else {
        let stamp_spec = FileSpec {
            path: stamp_path.to_owned(),
            contents: now.into_bytes(),
            mode: 0o600,
        };
        // An admin's own X.skip (without our marker) is theirs to keep.
        let ours = write::read_prefix(root, &skip)?.is_some_and(|b| crate::layout::owned(&skip, &b));
        let remove = if ours { vec![skip.clone()] } else { vec![] };
        write::commit(root, &[stamp_spec], &remove, &crate::layout::owned)?;
        writeln!(
            out,
            "harvester-sriov handoff: first rke2 start with {}: rke2 applies it now, later starts skip it",
            file.path.display()
        )?;
    }
    Ok(ExitCode::Success)
}
