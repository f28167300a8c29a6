//! `verify` in/out cases: each `tests/cases/verify/<name>/` describes a node
//! (`in/hardware.yaml`, and `in/node.yaml`: an apply of `in/config.yaml`,
//! a boot, then what changed: a VF count, a file edited); `out.stdout`,
//! `out.stderr` and `out.status` are what `verify` printed and its exit
//! code. `verify` writes nothing: the sysfs and the target are byte for
//! byte as before (runner and blessing: `support::cases`).

use crate::support::cases::{self, Run};

#[test]
fn every_case_prints_exactly_the_expected_report_and_writes_nothing() {
    cases::run_all("verify", 3, |run: &Run| {
        run.assert_nothing_written();
        vec![]
    });
}
