//! `apply` end to end, cargo-testsuite style: each case under
//! `tests/cases/apply/<name>/` has `in/hardware.yaml` (the node's PCI
//! functions) and `in/config.yaml` (the install config), and beside it
//! `out/` (the exact node tree expected afterwards, byte for byte, except
//! the installed binary, which must equal the binary under test): what
//! `apply` wrote under /oem, plus what its yip file writes at boot
//! (`support::materialise`, a stand-in for yip's initramfs stage);
//! `out.stdout`, `out.stderr` and `out.status` hold what `apply` printed
//! and its exit code. The runner, the path normalisation and the bless
//! logic are `support::cases`'s (`HARVESTER_SRIOV_BLESS=overwrite cargo test
//! --test integration apply::` rewrites what differs, and fails).

use std::path::{Path, PathBuf};

use crate::support::cases::{self, Run};
use crate::support::{apply, bin, hardware, materialise, plan, snapshot};

const BINARY: &str = "oem/harvester-sriov/harvester-sriov";

/// The case `tests/cases/apply/<name>`.
fn case(name: &str) -> PathBuf {
    cases::dir(&format!("apply/{name}"))
}

/// Run `apply` for a case into a fresh target; returns the target.
fn run_case(case: &Path) -> (tempfile::TempDir, tempfile::TempDir, String) {
    let sysfs = hardware::load(&case.join("in/hardware.yaml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .build();
    let target = tempfile::tempdir().unwrap();
    let out = apply(&case.join("in/config.yaml"), sysfs.path(), target.path());
    let name = case.file_name().unwrap().to_string_lossy();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{name}: apply failed:\n{stderr}");
    (sysfs, target, stderr)
}

#[test]
fn every_case_writes_exactly_the_expected_tree_and_output() {
    let program = std::fs::read(assert_cmd::cargo::cargo_bin("harvester-sriov")).unwrap();
    cases::run_all("apply", 7, |run: &Run| {
        let (case, target, out) = (&run.case, run.node.target.path(), &run.output);
        assert!(
            out.status.success(),
            "{}: apply failed:\n{}",
            case.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // apply itself writes under /oem only
        for (p, _) in snapshot(target) {
            assert!(
                p.starts_with("oem"),
                "{}: apply wrote {} outside /oem",
                case.display(),
                p.display()
            );
        }
        // what the yip file writes at boot, as yip would (support::materialise)
        materialise(target);
        let link = target.join("etc/systemd/system/multi-user.target.wants/harvester-sriov.service");
        if target.join("etc/systemd/system/harvester-sriov.service").exists() {
            assert_eq!(
                std::fs::read_link(&link).unwrap(),
                Path::new("/etc/systemd/system/harvester-sriov.service")
            );
            std::fs::remove_file(&link).unwrap(); // git keeps no symlink of ours in out/
        }
        if let Some((_, bytes)) = snapshot(target).iter().find(|(p, _)| p == Path::new(BINARY)) {
            assert!(
                *bytes == program,
                "{}: the installed binary is not this program",
                case.display()
            );
        }
        // Empty directories cannot be kept in git: compare files only.
        run.target_files(&[BINARY])
    });
}

#[test]
fn a_second_apply_changes_nothing_and_rewrites_nothing() {
    let case = case("sno-vfio-sriov-operator");
    let (sysfs, target, _) = run_case(&case);
    let meta = |p: &str| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(target.path().join(p)).unwrap();
        (m.ino(), m.mtime_nsec(), m.mtime())
    };
    let before = (
        snapshot(target.path()),
        meta("oem/95_harvester-sriov.yaml"),
        meta(BINARY),
    );
    let out = apply(&case.join("in/config.yaml"), sysfs.path(), target.path());
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("create") && !stdout.contains("update"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("unchanged").count(), 3, "{stdout}");
    let after = (
        snapshot(target.path()),
        meta("oem/95_harvester-sriov.yaml"),
        meta(BINARY),
    );
    assert!(before == after, "the second apply touched the target");
}

#[test]
fn dry_run_and_plan_write_nothing() {
    let case = case("sno-vfio-sriov-operator");
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = tempfile::tempdir().unwrap();
    for args in [
        vec!["apply", "--dry-run"],
        vec!["plan"],
        vec!["plan", "--format", "json"],
    ] {
        let out = bin()
            .args(&args)
            .arg("--config")
            .arg(case.join("in/config.yaml"))
            .arg("--sysfs")
            .arg(sysfs.path())
            .arg("--target")
            .arg(target.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            snapshot(target.path()).is_empty(),
            "{args:?} wrote into the target"
        );
    }
}

#[test]
fn plan_shows_the_skipped_functions_with_their_reasons_and_a_diff() {
    let case = case("sno-vfio-sriov-operator");
    let (sysfs, target, _) = run_case(&case);
    // change the count: the plan shows a diff of the changed lines only
    let config = std::fs::read_to_string(case.join("in/config.yaml"))
        .unwrap()
        .replace("num_vfs: 4", "num_vfs: 5");
    let cfg = target.path().join("changed.yaml");
    std::fs::write(&cfg, config).unwrap();
    let out = plan(&cfg, sysfs.path(), target.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0000:02:00.0") && stdout.contains("not a network controller"),
        "{stdout}"
    );
    assert!(
        stdout.contains("0000:03:00.0") && stdout.contains("management NIC"),
        "{stdout}"
    );
    assert!(
        stdout.contains("update    ")
            && stdout.contains("-       \"num_vfs\": 4,")
            && stdout.contains("+       \"num_vfs\": 5,"),
        "{stdout}"
    );
}

#[test]
fn remove_takes_out_exactly_what_apply_wrote() {
    let case = case("sno-vfio-sriov-operator");
    let (_sysfs, target, _) = run_case(&case);
    // a node after its first boot: the yip file has written its copies and
    // enabled the unit; remove takes all of it out, link included
    let at_boot = materialise(target.path());
    assert!(at_boot.len() >= 4, "{at_boot:?}");
    assert!(
        target
            .path()
            .join("etc/systemd/system/multi-user.target.wants/harvester-sriov.service")
            .is_symlink()
    );
    // a file of someone else's next to ours stays
    let theirs = target.path().join("etc/modprobe.d/other.conf");
    std::fs::write(&theirs, "options foo bar=1\n").unwrap();
    let out = bin()
        .args(["remove", "--target"])
        .arg(target.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    for gone in [
        "oem/95_harvester-sriov.yaml",
        "oem/harvester-sriov/state.json",
        "etc/systemd/system/harvester-sriov.service",
        "var/lib/rancher/rke2/server/manifests/harvester-sriov-",
        "(the unit's enable link)",
    ] {
        assert!(said.contains(gone), "{gone} not in: {said}");
    }
    let files: Vec<PathBuf> = snapshot(target.path())
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !p.as_os_str().to_string_lossy().ends_with('/'))
        .collect();
    assert_eq!(files, [PathBuf::from("etc/modprobe.d/other.conf")]);
    // rke2 deletes nothing when a manifest goes: remove says what stays and how
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("stays in the cluster"), "{stdout}");
    for want in [
        "kubectl -n sriov-network-operator delete sriovnetworknodepolicy harvester-sriov-",
        "kubectl -n sriov-network-operator delete sriovnetwork sriov-vms",
        "kubectl -n kube-system delete addon harvester-sriov-policy-",
        "kubectl -n kube-system delete addon harvester-sriov-network-sriov-vms",
        "kubectl label node node-a harvester-sriov.io/policy-",
    ] {
        assert!(stdout.contains(want), "{want}\n{stdout}");
    }
    let again = bin()
        .args(["remove", "--target"])
        .arg(target.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing of harvester-sriov"));
}

#[test]
fn a_file_we_do_not_own_is_never_overwritten() {
    let case = case("sno-vfio-sriov-operator");
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = tempfile::tempdir().unwrap();
    let path = target.path().join("etc/modprobe.d/harvester-sriov.conf");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "options igb max_vfs=7\n").unwrap();
    let before = snapshot(target.path());
    // only --now writes outside /oem
    let out = bin()
        .args(["apply", "--now", "--config"])
        .arg(case.join("in/config.yaml"))
        .arg("--sysfs")
        .arg(sysfs.path())
        .arg("--target")
        .arg(target.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("harvester-sriov.conf"), "{stderr}");
    assert_eq!(snapshot(target.path()), before);
}

/// Removal does not depend on the state: with a truncated `state.json`, or
/// one of a newer version, `remove` still takes out everything of ours and
/// says that the cluster leftovers cannot be listed.
#[test]
fn remove_removes_with_a_damaged_state() {
    let case = case("sno-vfio-sriov-operator");
    for damage in ["truncated", "newer"] {
        let (_sysfs, target, _) = run_case(&case);
        materialise(target.path());
        let state = target.path().join("oem/harvester-sriov/state.json");
        let text = std::fs::read_to_string(&state).unwrap();
        let damaged = match damage {
            "truncated" => text[..text.len() / 2].to_owned(),
            _ => {
                let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
                v["version"] = serde_json::json!(9999);
                v.to_string()
            }
        };
        std::fs::write(&state, damaged).unwrap();
        let out = bin()
            .args(["remove", "--target"])
            .arg(target.path())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{damage}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains("the cluster leftovers") && said.contains("cannot be listed"),
            "{damage}: {said}"
        );
        let files: Vec<PathBuf> = snapshot(target.path())
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| !p.as_os_str().to_string_lossy().ends_with('/'))
            .collect();
        assert!(files.is_empty(), "{damage}: left {files:?}\n{said}");
    }
}
