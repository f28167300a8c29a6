//! `remove` in/out cases: each `tests/cases/remove/<name>/` describes a node
//! (`in/hardware.yaml`, and `in/node.yaml`: an apply of `in/config.yaml`,
//! a boot, files changed afterwards); `out/` is the exact target left
//! (files only: git keeps no directory; no `out/` at all when nothing is
//! left), `out.stdout`, `out.stderr` and
//! `out.status` what `remove` printed and its exit code. `remove` never
//! touches the sysfs (runner and blessing: `support::cases`).

use std::path::Path;

use crate::support::cases::{self, Run};

const BINARY: &str = "oem/harvester-sriov/harvester-sriov";
const LINK: &str = "etc/systemd/system/multi-user.target.wants/harvester-sriov.service";

#[test]
fn every_case_leaves_exactly_the_expected_tree_and_output() {
    let program = std::fs::read(assert_cmd::cargo::cargo_bin("harvester-sriov")).unwrap();
    cases::run_all("remove", 3, |run: &Run| {
        assert!(
            crate::support::snapshot(run.node.sysfs.path()) == run.sysfs_before,
            "{}: remove wrote into the sysfs",
            run.case.display()
        );
        // the binary (not kept in out/) goes with the rest of ours or stays
        // with it, as the yip file does; one left is this program
        let binary = run.node.target.path().join(BINARY);
        assert_eq!(
            binary.exists(),
            run.node
                .target
                .path()
                .join("oem/95_harvester-sriov.yaml")
                .exists(),
            "{}: the binary without the yip file, or the reverse",
            run.case.display()
        );
        if binary.exists() {
            assert!(
                std::fs::read(&binary).unwrap() == program,
                "{}: the binary left is not this program",
                run.case.display()
            );
        }
        // the unit's enable link (git keeps no symlink of ours in out/) is
        // left exactly when the unit is, and still points at it
        let target = run.node.target.path();
        let link = target.join(LINK);
        let link_left = std::fs::symlink_metadata(&link).is_ok();
        let unit_left = target.join("etc/systemd/system/harvester-sriov.service").exists();
        assert_eq!(
            link_left,
            unit_left,
            "{}: the enable link without the unit, or the reverse",
            run.case.display()
        );
        if link_left {
            assert_eq!(
                std::fs::read_link(&link).unwrap(),
                Path::new("/etc/systemd/system/harvester-sriov.service")
            );
        }
        run.target_files(&[BINARY, LINK])
    });
}
