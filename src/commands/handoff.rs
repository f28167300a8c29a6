//! `handoff`: this node's hand-off objects, from its state, for
//! `kubectl apply -f -`. The route for a join (agent) node: rke2 applies the
//! manifests directory on servers only (k3s-io/k3s:pkg/deploy/controller.go).

use std::io::Write;

use crate::ExitCode;
use crate::cli::HandoffArgs;
use crate::render;

pub fn run(args: &HandoffArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let plan = crate::state::load(&args.state)?;
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
