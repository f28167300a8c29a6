//! `apply` end to end, cargo-testsuite style: each case under
//! `tests/cases/apply/<name>/` has `in/config.yaml` (the install config) and
//! `out/` (the exact node tree expected afterwards, byte for byte, except
//! the installed binary, which must equal the binary under test): what
//! `apply` wrote under /oem, plus what its yip file writes at boot
//! (`support::materialise`, a stand-in for yip's initramfs stage). The
//! case's hardware is a fake sysfs tree built here, by name.
//!
//! Beside them, `out.stdout` and `out.stderr` hold what `apply` printed
//! (temporary paths replaced by `[TARGET]`, `[SYSFS]`, `[CASE]`), compared
//! exactly.
//!
//! `HARVESTER_SRIOV_BLESS=overwrite cargo test apply::` rewrites the expected
//! files that differ, and fails (so it never passes by itself); review the
//! diff, then run again without it. Any other value, or any value under
//! `CI`, is an error.

use std::path::{Path, PathBuf};

use crate::support::space::{EXT_DSN, Space, SriovFields};
use crate::support::tree::{Function, KernelSriov, Tree};
use crate::support::{apply, bin, materialise, plan, repo, snapshot};

const BINARY: &str = "oem/harvester-sriov/harvester-sriov";

/// A network PF: PCIe, optional Device Serial Number at 0x100, SR-IOV at 0x140.
pub(crate) struct Nic {
    pub address: &'static str,
    pub ids: (u16, u16),
    pub vf_device: u16,
    pub driver: Option<&'static str>,
    pub ifname: Option<&'static str>,
    pub mac: &'static str,
    /// (capability TotalVFs, kernel sriov_totalvfs)
    pub total: (u16, u16),
    pub num_vfs: u16,
    pub serial: Option<u64>,
}

impl Nic {
    pub(crate) fn function(&self) -> Function {
        let (vendor, device) = self.ids;
        let mut space = Space::pcie(vendor, device, 0x020000);
        let sriov_at = if let Some(serial) = self.serial {
            space = space.ext(0x100, EXT_DSN, 1, 0x140);
            space.0[0x104..0x10c].copy_from_slice(&serial.to_le_bytes());
            0x140
        } else {
            0x100
        };
        let fields = SriovFields {
            initial_vfs: self.total.0,
            total_vfs: self.total.0,
            num_vfs: self.num_vfs,
            vf_enabled: self.num_vfs > 0,
            vf_offset: 128,
            vf_stride: 2,
            vf_device: self.vf_device,
        };
        let mut f = Function::new(self.address, space.sriov(sriov_at, 0, fields).bytes()).kernel_sriov(
            KernelSriov::new(self.total.1, self.num_vfs, 128, 2, self.vf_device),
        );
        if let Some(d) = self.driver {
            f = f.driver(d);
        }
        if let Some(i) = self.ifname {
            f = f.interface(i, self.mac);
        }
        f
    }
}

pub(crate) fn igb(address: &'static str, ifname: &'static str, mac: &'static str) -> Nic {
    Nic {
        address,
        ids: (0x8086, 0x10c9),
        vf_device: 0x10ca,
        driver: Some("igb"),
        ifname: Some(ifname),
        mac,
        total: (8, 7),
        num_vfs: 0,
        serial: None,
    }
}

pub(crate) fn x710(address: &'static str, ifname: &'static str, mac: &'static str, serial: u64) -> Nic {
    Nic {
        address,
        ids: (0x8086, 0x1572),
        vf_device: 0x154c,
        driver: Some("i40e"),
        ifname: Some(ifname),
        mac,
        total: (64, 64),
        num_vfs: 0,
        serial: Some(serial),
    }
}

fn nvme(address: &str) -> Function {
    let fields = SriovFields {
        initial_vfs: 2,
        total_vfs: 2,
        num_vfs: 0,
        vf_enabled: false,
        vf_offset: 1,
        vf_stride: 1,
        vf_device: 0x0010,
    };
    Function::new(
        address,
        Space::pcie(0x1b36, 0x0010, 0x010802)
            .sriov(0x100, 0, fields)
            .bytes(),
    )
    .driver("nvme")
    .kernel_sriov(KernelSriov::new(2, 0, 1, 1, 0x0010))
}

/// The management NIC of every case: an onboard e1000e without SR-IOV.
pub(crate) fn mgmt() -> Function {
    Function::new("0000:00:19.0", Space::pcie(0x8086, 0x10d3, 0x020000).bytes())
        .driver("e1000e")
        .interface("eno1", "52:54:00:00:00:01")
}

/// A ConnectX-3 (mlx4_core): VFs only through the module parameter.
pub(crate) fn connectx3() -> Nic {
    Nic {
        address: "0000:5e:00.0",
        ids: (0x15b3, 0x1007),
        vf_device: 0x1004,
        driver: Some("mlx4_core"),
        ifname: Some("ens3"),
        mac: "24:8a:07:00:00:01",
        total: (16, 16),
        num_vfs: 0,
        serial: None,
    }
}

/// A PF with its link MTU as the kernel shows it (sriov-network-operator's daemon reads it).
pub(crate) fn with_mtu(nic: &Nic) -> Function {
    nic.function()
        .file(&format!("net/{}/mtu", nic.ifname.unwrap()), "1500\n")
}

/// The hardware of each case.
pub(crate) fn hardware(case: &str) -> Tree {
    let t = Tree::new().function(mgmt());
    match case {
        // igb + NVMe; the management NIC is SR-IOV capable too and must be left alone.
        "sno-vfio-sriov-operator" | "seed-sriov-config" | "disabled-label-only" => t
            .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
            .function(igb("0000:01:00.1", "ens1f1", "52:54:00:12:34:02").function())
            .function(nvme("0000:02:00.0"))
            .function(igb("0000:03:00.0", "eno2", "52:54:00:12:34:03").function()),
        "pcidevices" => t.function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function()),
        // An i40e card (sysfs only) with serial numbers, netdevice VFs, MTU.
        "netdevice-i40e" => t
            .function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
            .function(x710("0000:3b:00.1", "ens2f1", "3c:fd:fe:00:00:02", 0x001b21ffff2b46e1).function()),
        // Rules by serial, address and vendor/device; one PF already has VFs.
        "rules-and-enabled-vfs" => t
            .function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
            .function(x710("0000:3b:00.1", "ens2f1", "3c:fd:fe:00:00:02", 0x001b21ffff2b46e1).function())
            .function(
                Nic {
                    num_vfs: 3,
                    ..igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
                }
                .function(),
            ),
        // Per-VF settings on an 82576 (no serial number: stable MACs from its
        // MAC) and two X710 ports (serial numbers).
        "per-vf-settings" => t
            .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
            .function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
            .function(x710("0000:3b:00.1", "ens2f1", "3c:fd:fe:00:00:02", 0x001b21ffff2b46e1).function()),
        // ConnectX-3: VFs only through the mlx4_core module parameter.
        "mlx4-module-param" => t.function(connectx3().function()),
        // pcidevices on a node whose name has dots: the hand-off file name
        // must not be cut at the first dot (rke2's Addon name); a management
        // NIC let in by a rule and an mlx4 card are refused in this mode.
        "pcidevices-dotted-node" => t
            .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
            .function(igb("0000:03:00.0", "eno2", "52:54:00:12:34:03").function())
            .function(connectx3().function()),
        // sriov-network-operator: an I350 (not in the chart's supported-nic-ids)
        // and a PF without a netdev are refused; the 82576 gets a policy.
        "operator-unsupported-nics" => t
            .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
            .function(
                Nic {
                    ids: (0x8086, 0x1521),
                    vf_device: 0x1520,
                    ..igb("0000:04:00.0", "ens4f0", "a0:36:9f:00:00:01")
                }
                .function(),
            )
            .function(
                Nic {
                    ifname: None,
                    ..igb("0000:05:00.0", "unused", "52:54:00:12:34:05")
                }
                .function(),
            ),
        other => panic!("no hardware for case {other}"),
    }
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/cases/apply"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("in/config.yaml").is_file())
        .collect();
    v.sort();
    v
}

/// `HARVESTER_SRIOV_BLESS=overwrite` (exactly that value) rewrites the
/// expected files that differ; any other value is an error, so a stray
/// `HARVESTER_SRIOV_BLESS=0` cannot bless by accident. Under `CI` it is an
/// error too: CI compares, it never rewrites.
fn bless_mode(bless: Option<&str>, ci: Option<&str>) -> Result<bool, String> {
    match (bless, ci) {
        (None, _) => Ok(false),
        (Some(_), Some(_)) => Err(
            "HARVESTER_SRIOV_BLESS is set under CI: CI only compares; unset it (scripts/test-all.sh does)"
                .into(),
        ),
        (Some("overwrite"), None) => Ok(true),
        (Some(other), None) => Err(format!(
            "HARVESTER_SRIOV_BLESS={other:?}: the only value is `overwrite` (rewrite the expected files that differ)"
        )),
    }
}

fn bless() -> bool {
    let var = |name| std::env::var(name).ok();
    bless_mode(var("HARVESTER_SRIOV_BLESS").as_deref(), var("CI").as_deref())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One case's expected results: `out/` (the target tree), `out.stdout` and
/// `out.stderr` (the command's output, temporary paths replaced by
/// `[TARGET]`, `[SYSFS]`, `[CASE]`).
struct Expected {
    /// Relative path under the case directory, and its bytes.
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Expected {
    fn read(case: &Path) -> Expected {
        let mut files: Vec<(PathBuf, Vec<u8>)> = snapshot(&case.join("out"))
            .into_iter()
            .map(|(p, b)| (Path::new("out").join(p), b))
            .collect();
        for name in ["out.stdout", "out.stderr"] {
            // A missing snapshot compares as missing (it differs from any output).
            if let Ok(bytes) = std::fs::read(case.join(name)) {
                files.push((PathBuf::from(name), bytes));
            }
        }
        files.retain(|(p, _)| !p.as_os_str().to_string_lossy().ends_with('/'));
        files.sort();
        Expected { files }
    }
}

/// Compare `got` with the case's expected files. With `bless`, rewrite
/// those that differ (and delete those no longer produced) and return
/// their names; without, return the differences as one message.
fn check_or_bless(case: &Path, got: &[(PathBuf, Vec<u8>)], bless: bool) -> Result<Vec<PathBuf>, String> {
    let expected = Expected::read(case).files;
    let mut differ = Vec::new();
    let mut report = String::new();
    for (path, g) in got {
        match expected.iter().find(|(p, _)| p == path) {
            Some((_, e)) if e == g => {}
            e => {
                differ.push(path.clone());
                report.push_str(&format!(
                    "{}: {} differs\n--- expected\n{}\n--- got\n{}\n",
                    case.display(),
                    path.display(),
                    e.map_or("(no such file)".into(), |(_, e)| String::from_utf8_lossy(e)),
                    String::from_utf8_lossy(g)
                ));
            }
        }
    }
    let extra: Vec<PathBuf> = expected
        .iter()
        .map(|(p, _)| p.clone())
        .filter(|p| !got.iter().any(|(g, _)| g == p))
        .collect();
    for p in &extra {
        report.push_str(&format!(
            "{}: {} expected but not produced\n",
            case.display(),
            p.display()
        ));
    }
    if !bless {
        return if report.is_empty() {
            Ok(vec![])
        } else {
            Err(report)
        };
    }
    for p in &differ {
        let bytes = &got
            .iter()
            .find(|(g, _)| g == p)
            .map(|(_, b)| b.clone())
            .unwrap_or_default();
        let path = case.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    for p in &extra {
        std::fs::remove_file(case.join(p)).unwrap();
    }
    Ok(differ.into_iter().chain(extra).collect())
}

/// Run `apply` for a case into a fresh target; returns the target.
fn run_case(case: &Path) -> (tempfile::TempDir, tempfile::TempDir, String) {
    let (sysfs, target, out) = run_case_output(case);
    let name = case.file_name().unwrap().to_string_lossy();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{name}: apply failed:\n{stderr}");
    (sysfs, target, stderr)
}

fn run_case_output(case: &Path) -> (tempfile::TempDir, tempfile::TempDir, std::process::Output) {
    let name = case.file_name().unwrap().to_str().unwrap();
    let sysfs = hardware(name).build();
    let target = tempfile::tempdir().unwrap();
    let out = apply(&case.join("in/config.yaml"), sysfs.path(), target.path());
    (sysfs, target, out)
}

fn without_binary(tree: Vec<(PathBuf, Vec<u8>)>) -> Vec<(PathBuf, Vec<u8>)> {
    tree.into_iter().filter(|(p, _)| p != Path::new(BINARY)).collect()
}

/// Output with this run's temporary paths replaced by stable names.
fn normalise(bytes: &[u8], paths: &[(&Path, &str)]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    for (path, name) in paths {
        text = text.replace(&path.display().to_string(), name);
    }
    text.into_bytes()
}

#[test]
fn every_case_writes_exactly_the_expected_tree_and_output() {
    let cases = cases();
    assert!(cases.len() >= 7, "cases missing under tests/cases/apply");
    let bless = bless();
    let program = std::fs::read(assert_cmd::cargo::cargo_bin("harvester-sriov")).unwrap();
    let mut rewritten = Vec::new();
    let mut failures = String::new();
    for case in cases {
        let (sysfs, target, out) = run_case_output(&case);
        assert!(
            out.status.success(),
            "{}: apply failed:\n{}",
            case.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // apply itself writes under /oem only
        for (p, _) in snapshot(target.path()) {
            assert!(
                p.starts_with("oem"),
                "{}: apply wrote {} outside /oem",
                case.display(),
                p.display()
            );
        }
        // what the yip file writes at boot, as yip would (support::materialise)
        materialise(target.path());
        let link = target
            .path()
            .join("etc/systemd/system/multi-user.target.wants/harvester-sriov.service");
        if target
            .path()
            .join("etc/systemd/system/harvester-sriov.service")
            .exists()
        {
            assert_eq!(
                std::fs::read_link(&link).unwrap(),
                Path::new("/etc/systemd/system/harvester-sriov.service")
            );
            std::fs::remove_file(&link).unwrap(); // git keeps no symlink of ours in out/
        }
        let tree = snapshot(target.path());
        if let Some((_, bytes)) = tree.iter().find(|(p, _)| p == Path::new(BINARY)) {
            assert!(
                *bytes == program,
                "{}: the installed binary is not this program",
                case.display()
            );
        }
        let paths = [
            (target.path(), "[TARGET]"),
            (sysfs.path(), "[SYSFS]"),
            (case.as_path(), "[CASE]"),
        ];
        // Empty directories cannot be kept in git: compare files only.
        let mut got: Vec<(PathBuf, Vec<u8>)> = without_binary(tree)
            .into_iter()
            .filter(|(p, _)| !p.as_os_str().to_string_lossy().ends_with('/'))
            .map(|(p, b)| (Path::new("out").join(p), b))
            .collect();
        got.push((PathBuf::from("out.stdout"), normalise(&out.stdout, &paths)));
        got.push((PathBuf::from("out.stderr"), normalise(&out.stderr, &paths)));
        got.sort();
        match check_or_bless(&case, &got, bless) {
            Ok(files) => rewritten.extend(files.into_iter().map(|f| case.join(f))),
            Err(report) => failures.push_str(&report),
        }
    }
    assert!(
        failures.is_empty(),
        "{failures}(HARVESTER_SRIOV_BLESS=overwrite rewrites them; review the diff)"
    );
    // A blessing run never passes: it changed the expectations it checks.
    assert!(
        rewritten.is_empty(),
        "HARVESTER_SRIOV_BLESS=overwrite rewrote {} expected files; review `git diff tests/cases` and re-run without it:\n{}",
        rewritten.len(),
        rewritten
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn blessing_needs_the_exact_value_and_never_happens_under_ci() {
    assert_eq!(bless_mode(None, None), Ok(false));
    assert_eq!(bless_mode(None, Some("true")), Ok(false));
    assert_eq!(bless_mode(Some("overwrite"), None), Ok(true));
    for value in ["0", "1", "", "Overwrite", "true"] {
        let err = bless_mode(Some(value), None).unwrap_err();
        assert!(err.contains("the only value is `overwrite`"), "{value:?}: {err}");
    }
    let err = bless_mode(Some("overwrite"), Some("true")).unwrap_err();
    assert!(err.contains("under CI"), "{err}");
}

/// Blessing rewrites exactly the differing expected files and reports
/// them (so the test run fails); comparing reports every difference.
#[test]
fn blessing_rewrites_only_what_differs_and_reports_it() {
    let case = tempfile::tempdir().unwrap();
    let c = case.path();
    std::fs::create_dir_all(c.join("out/etc")).unwrap();
    std::fs::write(c.join("out/etc/same"), "same").unwrap();
    std::fs::write(c.join("out/etc/old"), "old").unwrap();
    std::fs::write(c.join("out/etc/gone"), "gone").unwrap();
    std::fs::write(c.join("out.stdout"), "wrote\n").unwrap();
    let got = vec![
        (PathBuf::from("out.stderr"), b"note\n".to_vec()),
        (PathBuf::from("out.stdout"), b"wrote\n".to_vec()),
        (PathBuf::from("out/etc/old"), b"new".to_vec()),
        (PathBuf::from("out/etc/same"), b"same".to_vec()),
    ];
    let report = check_or_bless(c, &got, false).unwrap_err();
    for p in [
        "out.stderr differs",
        "out/etc/old differs",
        "out/etc/gone expected but not produced",
    ] {
        assert!(report.contains(p), "{p}: {report}");
    }
    assert!(
        !report.contains("out/etc/same") && !report.contains("out.stdout"),
        "{report}"
    );
    let mut rewritten = check_or_bless(c, &got, true).unwrap();
    rewritten.sort();
    assert_eq!(
        rewritten,
        ["out/etc/gone", "out/etc/old", "out.stderr"].map(PathBuf::from)
    );
    assert_eq!(std::fs::read(c.join("out/etc/old")).unwrap(), b"new");
    assert!(!c.join("out/etc/gone").exists());
    assert_eq!(check_or_bless(c, &got, false), Ok(vec![]));
    assert_eq!(check_or_bless(c, &got, true), Ok(vec![]));
}

#[test]
fn a_second_apply_changes_nothing_and_rewrites_nothing() {
    let case = repo().join("tests/cases/apply/sno-vfio-sriov-operator");
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
    let case = repo().join("tests/cases/apply/sno-vfio-sriov-operator");
    let sysfs = hardware("sno-vfio-sriov-operator").build();
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
    let case = repo().join("tests/cases/apply/sno-vfio-sriov-operator");
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
    let case = repo().join("tests/cases/apply/sno-vfio-sriov-operator");
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
    let case = repo().join("tests/cases/apply/sno-vfio-sriov-operator");
    let sysfs = hardware("sno-vfio-sriov-operator").build();
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
    let case = repo().join("tests/cases/apply/sno-vfio-sriov-operator");
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
