//! `plan` in/out cases: each `tests/cases/plan/<name>/` has its hardware,
//! its install config and, when the node was installed before, an
//! `in/node.yaml` that applies an earlier config first; `out.stdout`,
//! `out.stderr` and `out.status` are what `plan` printed and its exit code.
//! `plan` writes nothing: the sysfs and the target are byte for byte as
//! before (runner and blessing: `support::cases`).

use crate::support::cases::{self, Run};

#[test]
fn every_case_prints_exactly_the_expected_plan_and_writes_nothing() {
    cases::run_all("plan", 3, |run: &Run| {
        run.assert_nothing_written();
        vec![]
    });
}
