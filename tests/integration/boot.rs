//! `boot` against fake sysfs trees: the state `apply` wrote, enforced on a
//! tree where `sriov_numvfs` is a plain file. (The real kernel's answers —
//! EBUSY, ERANGE, ENOENT — are covered by the QEMU end-to-end tests.)

use std::path::Path;

use crate::support::hardware::{Nic, igb, x710};
use crate::support::tree::Tree;
use crate::support::{apply, bin, plan};

/// Apply `config` on `hardware` into a fresh target; returns (sysfs, target).
fn applied(hardware: &Tree, config: &str) -> (tempfile::TempDir, tempfile::TempDir) {
    let sysfs = hardware.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, config).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // a node after its boot: the yip file has written the files outside /oem
    crate::support::materialise(target.path());
    (sysfs, target)
}

fn boot(sysfs: &Path, target: &Path) -> (i32, String) {
    let out = bin()
        .args(["boot", "--wait", "0", "--sysfs"])
        .arg(sysfs)
        .arg("--state")
        .arg(target.join("oem/harvester-sriov/state.json"))
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn numvfs(sysfs: &Path, addr: &str) -> String {
    std::fs::read_to_string(sysfs.join("bus/pci/devices").join(addr).join("sriov_numvfs"))
        .unwrap()
        .trim()
        .to_owned()
}

fn set_numvfs(sysfs: &Path, addr: &str, n: &str) {
    std::fs::write(sysfs.join("bus/pci/devices").join(addr).join("sriov_numvfs"), n).unwrap();
}

/// `operator: none`: the tool alone owns the VFs (with pcidevices, the default,
/// its controller writes the count and `boot` leaves it alone).
const NETDEV: &str = "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 4\n  device_type: netdevice\n  operator: none\n";

#[test]
fn writes_zero_first_when_another_count_is_set_then_is_a_no_op() {
    let hw = Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function());
    let (sysfs, target) = applied(&hw, NETDEV);
    // first boot: 0 -> 4
    let (code, log) = boot(sysfs.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("0000:01:00.0 (ens1f0): 4 VFs (was 0: wrote 4)"),
        "{log}"
    );
    assert_eq!(numvfs(sysfs.path(), "0000:01:00.0"), "4");
    // someone set 2: 0 first, then 4
    set_numvfs(sysfs.path(), "0000:01:00.0", "2\n");
    let (code, log) = boot(sysfs.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("4 VFs (was 2: wrote 0, then 4)"), "{log}");
    // same count: nothing written
    let before = std::fs::metadata(sysfs.path().join("bus/pci/devices/0000:01:00.0/sriov_numvfs"))
        .unwrap()
        .modified()
        .unwrap();
    let (code, log) = boot(sysfs.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("already as planned, nothing written"), "{log}");
    let after = std::fs::metadata(sysfs.path().join("bus/pci/devices/0000:01:00.0/sriov_numvfs"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn a_card_that_moved_is_found_by_its_serial_number() {
    let card = x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0);
    let (sysfs, target) = applied(&Tree::new().function(card.function()), NETDEV);
    // A new card in an earlier slot: ours is now at 0000:5e:00.0, another X710 took 3b:00.0.
    let moved = Tree::new()
        .function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:99", 0x001b21ffff2b4699).function())
        .function(x710("0000:5e:00.0", "ens3f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
        .build();
    let (code, log) = boot(moved.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("moved from 0000:3b:00.0 to 0000:5e:00.0 (same serial number)"),
        "{log}"
    );
    assert_eq!(numvfs(moved.path(), "0000:5e:00.0"), "4");
    assert_eq!(
        numvfs(moved.path(), "0000:3b:00.0"),
        "0",
        "the other card was touched"
    );
    drop(sysfs);
}

#[test]
fn a_different_device_at_the_address_is_never_touched() {
    let (_sysfs, target) = applied(
        &Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function()),
        NETDEV,
    );
    let other = Tree::new()
        .function(x710("0000:01:00.0", "ens1f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
        .build();
    let (code, log) = boot(other.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("0000:01:00.0 now holds 8086:1572"), "{log}");
    assert!(log.contains("not the planned 8086:10c9"), "{log}");
    assert!(log.contains("refusing to touch anything"), "{log}");
    assert_eq!(numvfs(other.path(), "0000:01:00.0"), "0");
}

#[test]
fn another_card_of_the_same_model_at_the_address_is_named_by_its_mac() {
    let (_sysfs, target) = applied(
        &Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function()),
        NETDEV,
    );
    let other = Tree::new()
        .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:99").function())
        .build();
    let (code, log) = boot(other.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains(
            "0000:01:00.0 holds another 8086:10c9 (Intel Corporation 82576 Gigabit Network Connection) with MAC 52:54:00:12:34:99, not the recorded 52:54:00:12:34:01"
        ),
        "{log}"
    );
    assert!(!log.contains("not the planned 8086:10c9"), "{log}");
    assert!(
        log.contains("no SR-IOV function has MAC 52:54:00:12:34:01"),
        "{log}"
    );
    assert_eq!(numvfs(other.path(), "0000:01:00.0"), "0");
}

#[test]
fn a_count_above_the_kernel_total_is_refused_before_writing() {
    let (sysfs, target) = applied(
        &Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function()),
        NETDEV,
    );
    // the driver now allows only 2 (e.g. a firmware change)
    std::fs::write(
        sysfs.path().join("bus/pci/devices/0000:01:00.0/sriov_totalvfs"),
        "2\n",
    )
    .unwrap();
    let (code, log) = boot(sysfs.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains(
            "refused: 4 VFs planned, but the kernel allows at most 2 (sriov_totalvfs); nothing written"
        ),
        "{log}"
    );
    assert_eq!(numvfs(sysfs.path(), "0000:01:00.0"), "0");
}

#[test]
fn a_pf_without_driver_is_reported_in_words_and_boot_does_not_hang() {
    let (_sysfs, target) = applied(
        &Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function()),
        NETDEV,
    );
    let unbound = Tree::new()
        .function(
            Nic {
                driver: None,
                ..igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
            }
            .function(),
        )
        .build();
    let start = std::time::Instant::now();
    let (code, log) = boot(unbound.path(), target.path());
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains(
            "no driver bound after 0s: load the igb driver (writing sriov_numvfs would fail with ENOENT)"
        ),
        "{log}"
    );
}

#[test]
fn a_broken_state_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.yaml");
    for (text, want) in [
        ("version: 2\nnode: a\n", "not a harvester-sriov state file"),
        ("[1, 2", "not a harvester-sriov state file"),
        ("", "not a harvester-sriov state file"),
    ] {
        std::fs::write(&state, text).unwrap();
        let out = bin()
            .args(["boot", "--sysfs", "/nonexistent", "--state"])
            .arg(&state)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&state.display().to_string()) && stderr.contains(want),
            "{stderr}"
        );
    }
}

#[test]
fn oem_as_a_symlink_out_of_the_target_never_writes_outside() {
    let hw = Tree::new()
        .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
        .build();
    let outside = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), target.path().join("oem")).unwrap();
    let cfg = target.path().join("c.yaml");
    std::fs::write(&cfg, NETDEV).unwrap();
    let out = apply(&cfg, hw.path(), target.path());
    // Re-rooted inside the target, or refused: never outside.
    assert!(
        std::fs::read_dir(outside.path()).unwrap().next().is_none(),
        "wrote outside the target: {out:?}"
    );
}

fn verify(sysfs: &Path, target: &Path) -> (i32, String) {
    let out = bin()
        .args(["verify", "--sysfs"])
        .arg(sysfs)
        .arg("--target")
        .arg(target)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn verify_names_each_difference_from_the_plan() {
    let hw = Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function());
    let (sysfs, target) = applied(&hw, NETDEV);
    let (code, log) = verify(sysfs.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("0000:01:00.0 (ens1f0): 0 VFs, 4 planned"), "{log}");
    assert_eq!(boot(sysfs.path(), target.path()).0, 0);
    let (code, log) = verify(sysfs.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        log,
        "verify: node n1 as planned: 1 PFs, 4 VFs by sriov_numvfs, of which 0 found as PCI functions (their drivers checked: netdevice), 6 files\n"
    );
    set_numvfs(sysfs.path(), "0000:01:00.0", "1");
    std::fs::remove_file(
        target
            .path()
            .join("etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml"),
    )
    .unwrap();
    let (code, log) = verify(sysfs.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("2 differences"), "{log}");
    assert!(log.contains("0000:01:00.0 (ens1f0): 1 VFs, 4 planned"), "{log}");
    assert!(log.contains("95-harvester-sriov.yaml: missing"), "{log}");
}

#[test]
fn the_planned_mtu_is_set_on_the_pf_and_verified() {
    let hw = Tree::new().function(
        igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
            .function()
            .file("net/ens1f0/mtu", "1500\n"),
    );
    let (sysfs, target) = applied(&hw, &format!("{NETDEV}  mtu: 9000\n"));
    let mtu = sysfs.path().join("bus/pci/devices/0000:01:00.0/net/ens1f0/mtu");
    let (code, log) = verify(sysfs.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("0000:01:00.0 (ens1f0): MTU 1500, 9000 planned"),
        "{log}"
    );
    let (code, log) = boot(sysfs.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("4 VFs (was 0: wrote 4); MTU 9000 on ens1f0 (was 1500)"),
        "{log}"
    );
    assert_eq!(std::fs::read_to_string(&mtu).unwrap(), "9000");
    let (code, log) = boot(sysfs.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("already as planned, nothing written"), "{log}");
    assert!(!log.contains("MTU"), "{log}");
    assert_eq!(verify(sysfs.path(), target.path()).0, 0);
}

#[test]
fn apply_now_on_a_running_node_writes_what_boot_would_and_creates_the_vfs() {
    let hw = Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function());
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, NETDEV).unwrap();
    let out = bin()
        .args(["apply", "--now", "--config"])
        .arg(&cfg)
        .arg("--sysfs")
        .arg(sysfs.path())
        .arg("--target")
        .arg(target.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.contains("creating the VFs now"), "{log}");
    assert!(
        log.contains("0000:01:00.0 (ens1f0): 4 VFs (was 0: wrote 4)"),
        "{log}"
    );
    assert!(
        target
            .path()
            .join("etc/systemd/system/harvester-sriov.service")
            .is_file()
    );
    // the same files the yip file writes at boot, byte for byte
    let now: Vec<_> = crate::support::snapshot(target.path());
    let at_boot = tempfile::tempdir().unwrap();
    for (rel, bytes) in &now {
        if rel.starts_with("oem") && !rel.as_os_str().to_string_lossy().ends_with('/') {
            let p = at_boot.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
    }
    crate::support::materialise(at_boot.path());
    let outside = |t: &Path| -> Vec<_> {
        crate::support::snapshot(t)
            .into_iter()
            .filter(|(p, _)| {
                !p.starts_with("oem")
                    && !p.starts_with("config.yaml")
                    && !p.to_string_lossy().contains(".wants")
            })
            .filter(|(p, _)| !p.as_os_str().to_string_lossy().ends_with('/'))
            .collect()
    };
    assert_eq!(outside(target.path()), outside(at_boot.path()));
    assert_eq!(verify(sysfs.path(), target.path()).0, 0);
}

#[test]
fn verify_reads_an_older_state_yaml_with_a_notice() {
    let hw = Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function());
    let (sysfs, target) = applied(&hw, NETDEV);
    let dir = target.path().join("oem/harvester-sriov");
    // an older version's state: YAML (JSON is YAML), named state.yaml
    std::fs::rename(dir.join("state.json"), dir.join("state.yaml")).unwrap();
    let (code, log) = verify(sysfs.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("notice: reading") && log.contains("state.yaml written by an older harvester-sriov"),
        "{log}"
    );
    assert!(log.contains("state.json: missing"), "{log}");
}

#[test]
fn the_longest_wait_does_not_panic() {
    let hw = Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function());
    let (sysfs, target) = applied(&hw, NETDEV);
    for wait in [u64::MAX.to_string(), (u64::MAX / 2).to_string()] {
        let out = bin()
            .args(["boot", "--wait", &wait, "--sysfs"])
            .arg(sysfs.path())
            .arg("--state")
            .arg(target.path().join("oem/harvester-sriov/state.json"))
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "--wait {wait}: {stderr}");
        assert!(!stderr.contains("panicked"), "--wait {wait}: {stderr}");
        assert_eq!(numvfs(sysfs.path(), "0000:01:00.0"), "4");
    }
}

/// `/oem -> /data/oem` inside the target (an absolute link, as on a system
/// whose /oem lives on another partition): `apply` writes through it
/// re-rooted at the target, and `verify` and `plan`'s diff read through it
/// the same way: one resolver for every access to the target.
#[test]
fn an_absolute_oem_link_inside_the_target_is_followed_by_every_reader() {
    let hw = Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function());
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(target.path().join("data/oem")).unwrap();
    std::os::unix::fs::symlink("/data/oem", target.path().join("oem")).unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, NETDEV).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state = target.path().join("data/oem/harvester-sriov/state.json");
    assert!(state.is_file(), "apply did not write through the link");

    // Only the VF count differs before boot: every file is found.
    let (code, log) = verify(sysfs.path(), target.path());
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("1 differences"), "{log}");
    assert!(log.contains("0000:01:00.0 (ens1f0): 0 VFs, 4 planned"), "{log}");
    // boot runs on the node, where /oem is the real directory.
    let out = bin()
        .args(["boot", "--wait", "0", "--sysfs"])
        .arg(sysfs.path())
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let (code, log) = verify(sysfs.path(), target.path());
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        log,
        "verify: node n1 as planned: 1 PFs, 4 VFs by sriov_numvfs, of which 0 found as PCI functions (their drivers checked: netdevice), 3 files\n"
    );

    // plan's diff compares with the file apply wrote, through the link.
    let changed = target.path().join("changed.yaml");
    std::fs::write(&changed, NETDEV.replace("num_vfs: 4", "num_vfs: 5")).unwrap();
    let out = plan(&changed, sysfs.path(), target.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("-       \"num_vfs\": 4,") && stdout.contains("+       \"num_vfs\": 5,"),
        "{stdout}"
    );
    assert!(!stdout.contains("+ # Generated by harvester-sriov"), "{stdout}");
}

/// Without `--state`, the state is found through the same resolver: with
/// `/oem -> /data/oem` inside the target, `handoff --target` reads
/// `TARGET/data/oem/…/state.json`, never the host's `/data/oem`. So are
/// this tool's hand-off files: in a manifests directory that is an absolute
/// link inside the target, `remove` finds ours (and leaves a file of a
/// similar name without our marker).
#[test]
fn the_state_and_the_hand_off_files_are_found_through_the_resolver() {
    let hw = Tree::new().function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function());
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    let t = target.path();
    std::fs::create_dir_all(t.join("data/oem")).unwrap();
    std::os::unix::fs::symlink("/data/oem", t.join("oem")).unwrap();
    let cfg = t.join("config.yaml");
    std::fs::write(&cfg, NETDEV).unwrap();
    let out = apply(&cfg, sysfs.path(), t);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = bin().args(["handoff", "--target"]).arg(t).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "# harvester-sriov: node n1 hands nothing over (operator none)\n"
    );

    let manifests = t.join("data/manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::create_dir_all(t.join("var/lib/rancher/rke2/server")).unwrap();
    std::os::unix::fs::symlink("/data/manifests", t.join("var/lib/rancher/rke2/server/manifests")).unwrap();
    let ours = manifests.join("harvester-sriov-node-n1.yaml");
    let theirs = manifests.join("harvester-sriov-theirs.yaml");
    std::fs::write(&ours, "# Generated by harvester-sriov. (a hand-off file)\n").unwrap();
    std::fs::write(&theirs, "apiVersion: v1\n").unwrap();
    let out = bin().args(["remove", "--target"]).arg(t).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = t.join("var/lib/rancher/rke2/server/manifests/harvester-sriov-node-n1.yaml");
    assert!(
        stdout.contains(&format!("  remove    {}\n", shown.display())),
        "{stdout}"
    );
    assert!(!ours.exists(), "{stdout}");
    assert!(theirs.exists(), "{stdout}");
    assert!(
        !t.join("data/oem/harvester-sriov/state.json").exists(),
        "{stdout}"
    );
}
