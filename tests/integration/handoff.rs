//! The hand-off across a cluster installed from one config: what each node
//! writes, and the rules the cluster applies it by (docs/handoff.md): rke2 makes one `Addon` per manifest file, named after the file
//! name up to its first period, and prunes what that Addon applied before
//! (k3s-io/k3s:pkg/deploy/controller.go). So two nodes must never write
//! different bytes under one Addon name, and nodes with the same NICs must
//! write the same cluster-wide objects.

use std::collections::BTreeMap;

use crate::support::hardware::{igb, x710};
use crate::support::tree::Tree;
use crate::support::{apply, bin, materialise, snapshot};

const MANIFESTS: &str = "var/lib/rancher/rke2/server/manifests/";

/// Apply `config` for `node` on `hardware`; returns (manifest file name -> bytes, stderr, target).
fn install(
    node: &str,
    hardware: &Tree,
    sriov: &str,
    extra: &str,
) -> (BTreeMap<String, Vec<u8>>, String, tempfile::TempDir) {
    let sysfs = hardware.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, format!("os:\n  hostname: {node}\n{extra}sriov:\n{sriov}")).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{node}: {stderr}");
    // the node after its boot: the yip file has written the hand-off files
    materialise(target.path());
    let files = snapshot(target.path())
        .into_iter()
        .filter_map(|(p, bytes)| {
            let p = p.to_string_lossy().into_owned();
            p.strip_prefix(MANIFESTS)
                .filter(|n| !n.is_empty())
                .map(|n| (n.to_owned(), bytes))
        })
        .collect();
    (files, stderr, target)
}

/// rke2's Addon name for a manifest file name.
fn addon(file: &str) -> &str {
    file.split('.').next().unwrap()
}

fn two_igb() -> Tree {
    Tree::new()
        .function(igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function())
        .function(igb("0000:01:00.1", "ens1f1", "52:54:00:12:34:02").function())
}

fn x710_card() -> Tree {
    Tree::new().function(x710("0000:3b:00.0", "ens2f0", "3c:fd:fe:00:00:01", 0x001b21ffff2b46e0).function())
}

const PCIDEVICES: &str = "  enabled: true\n  num_vfs: 4\n";
const OPERATOR: &str = "  enabled: true\n  num_vfs: 4\n  operator: sriov-network-operator\n";

#[test]
fn pcidevices_every_node_has_its_own_addon_even_with_dots_in_the_name() {
    // a.b and a-b and a.c: rke2 would cut "a.b.yaml" to Addon "a"
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for node in ["node-1", "a.b", "a-b", "a.c", "node-1.rack2"] {
        let (files, _, _) = install(node, &two_igb(), PCIDEVICES, "");
        assert_eq!(files.len(), 1, "{node}: {files:?}");
        let (name, bytes) = files.into_iter().next().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(&format!("nodename: \"{node}\"")), "{text}");
        assert!(text.contains(&format!("name: \"{node}-ens1f0\"")), "{text}");
        if let Some(other) = seen.insert(addon(&name).to_owned(), node.to_owned()) {
            panic!("{node} and {other} share the Addon {}", addon(&name));
        }
    }
}

#[test]
fn operator_nodes_with_the_same_nics_write_byte_identical_policies_and_others_do_not() {
    let (a, _, _) = install("node-a", &two_igb(), OPERATOR, "");
    let (b, _, _) = install("node-b.example.com", &two_igb(), OPERATOR, "");
    let (c, _, _) = install("node-c", &x710_card(), OPERATOR, "");
    // same NICs: same file name, same bytes (one Addon, nothing pruned)
    assert_eq!(a, b);
    assert_eq!(a.len(), 1, "{a:?}");
    // other NICs: another Addon, so neither prunes the other
    assert_eq!(c.len(), 1, "{c:?}");
    let (an, cn) = (a.keys().next().unwrap(), c.keys().next().unwrap());
    assert_ne!(addon(an), addon(cn));
    // the policy selects nodes by the label each node sets on itself
    let text = String::from_utf8(a.values().next().unwrap().clone()).unwrap();
    let hash = an
        .strip_prefix("harvester-sriov-policy-")
        .and_then(|n| n.strip_suffix(".yaml"))
        .unwrap();
    assert!(
        text.contains(&format!("harvester-sriov.io/policy-{hash}: \"true\"")),
        "{text}"
    );
    assert!(!text.contains("kubernetes.io/hostname"), "{text}");
    assert!(!text.contains("SriovOperatorConfig"), "{text}");
}

#[test]
fn the_node_label_file_carries_the_policy_label() {
    let (files, _, target) = install("node-a", &two_igb(), OPERATOR, "");
    let name = files.keys().next().unwrap();
    let hash = name
        .strip_prefix("harvester-sriov-policy-")
        .and_then(|n| n.strip_suffix(".yaml"))
        .unwrap();
    let labels = std::fs::read_to_string(
        target
            .path()
            .join("etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml"),
    )
    .unwrap();
    assert!(
        labels.contains(&format!("\"harvester-sriov.io/policy-{hash}=true\"")),
        "{labels}"
    );
}

#[test]
fn handoff_prints_the_nodes_objects_from_its_state() {
    let (files, _, target) = install("node-a", &two_igb(), PCIDEVICES, "");
    let out = bin()
        .args(["handoff", "--state"])
        .arg(target.path().join("oem/harvester-sriov/state.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (name, bytes) = files.into_iter().next().unwrap();
    assert!(
        stdout.contains(&format!("/var/lib/rancher/rke2/server/manifests/{name}")),
        "{stdout}"
    );
    assert!(stdout.contains(std::str::from_utf8(&bytes).unwrap()), "{stdout}");
    // parses as the objects kubectl would apply
    let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&stdout)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &serde_json::Value| !v.is_null())
        .collect();
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["node-a-ens1f0", "node-a-ens1f1"]);
}

#[test]
fn pcidevices_boot_leaves_the_count_to_the_controller() {
    let hw = two_igb();
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, format!("os:\n  hostname: n1\nsriov:\n{PCIDEVICES}")).unwrap();
    assert!(apply(&cfg, sysfs.path(), target.path()).status.success());
    // no vfio-pci ids: pcidevices binds (and unbinds unclaimed) VFs itself
    assert!(!target.path().join("etc/modprobe.d/harvester-sriov.conf").exists());
    let out = bin()
        .args(["boot", "--wait", "0", "--sysfs"])
        .arg(sysfs.path())
        .arg("--state")
        .arg(target.path().join("oem/harvester-sriov/state.json"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("0000:01:00.0 (ens1f0): 0 VFs now; the count is pcidevices' (SRIOVNetworkDevice n1-ens1f0, 4 in the hand-off): nothing written"),
        "{log}"
    );
    let numvfs = |a: &str| {
        std::fs::read_to_string(sysfs.path().join("bus/pci/devices").join(a).join("sriov_numvfs")).unwrap()
    };
    assert_eq!(numvfs("0000:01:00.0").trim(), "0");
    assert_eq!(numvfs("0000:01:00.1").trim(), "0");
}

#[test]
fn a_create_node_without_the_pcidevices_addon_is_warned_with_the_key() {
    let (_, stderr, _) = install("n1", &two_igb(), PCIDEVICES, "install:\n  mode: create\n");
    assert!(
        stderr.contains("install.addons.harvester_pcidevices_controller.enabled is true"),
        "{stderr}"
    );
    let (_, stderr, _) = install(
        "n1",
        &two_igb(),
        PCIDEVICES,
        "install:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: true\n",
    );
    assert!(!stderr.contains("harvester_pcidevices_controller"), "{stderr}");
}

#[test]
fn a_changed_plan_removes_the_old_policy_file() {
    let hw = two_igb();
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("config.yaml");
    let write = |n: u16| {
        std::fs::write(
            &cfg,
            format!("os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: {n}\n  operator: sriov-network-operator\n"),
        )
        .unwrap();
        assert!(apply(&cfg, sysfs.path(), target.path()).status.success());
        materialise(target.path()); // the next boot
        let dir = target.path().join(MANIFESTS);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let first = write(4);
    let second = write(2);
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1);
    assert_ne!(first, second, "the policy's content changed, so did its name");
}

#[test]
fn someone_elses_manifest_with_a_similar_name_stays() {
    let hw = two_igb();
    let sysfs = hw.build();
    let target = tempfile::tempdir().unwrap();
    let theirs = target.path().join(MANIFESTS).join("harvester-sriov-custom.yaml");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    std::fs::write(&theirs, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, format!("os:\n  hostname: n1\nsriov:\n{PCIDEVICES}")).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin()
        .args(["remove", "--target"])
        .arg(target.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "kubectl patch sriovnetworkdevice n1-ens1f0 --type merge -p '{\"spec\":{\"numVFs\":0}}'"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("kubectl -n kube-system delete addon harvester-sriov-node-n1"),
        "{stdout}"
    );
    assert!(theirs.exists());
    assert!(
        !target
            .path()
            .join(MANIFESTS)
            .join("harvester-sriov-node-n1.yaml")
            .exists()
    );
}

/// `handoff --before-rke2-start` on `target`: (exit code, stdout).
fn before_rke2_start(target: &std::path::Path) -> (i32, String) {
    let out = bin()
        .args(["handoff", "--before-rke2-start", "--target"])
        .arg(target)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn pcidevices_file_is_applied_at_the_first_rke2_start_and_skipped_at_every_later_one() {
    let (files, _, target) = install("node-a", &two_igb(), PCIDEVICES, "");
    let node_file = files
        .keys()
        .find(|n| n.starts_with("harvester-sriov-node-"))
        .unwrap()
        .clone();
    let manifests = target.path().join(MANIFESTS);
    let skip = manifests.join(format!("{node_file}.skip"));
    let stamp = target.path().join("oem/harvester-sriov/handoff.started");

    // first start: rke2 applies it; the stamp records file and content
    let (code, log) = before_rke2_start(target.path());
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        log,
        format!(
            "harvester-sriov handoff: first rke2 start with /{MANIFESTS}{node_file}: rke2 applies it now, later starts skip it\n"
        )
    );
    assert!(!skip.exists());
    let stamped = std::fs::read_to_string(&stamp).unwrap();
    assert!(
        stamped.starts_with(&format!("/{MANIFESTS}{node_file} ")),
        "{stamped}"
    );

    // every later start: X.skip, which k3s honours; a third start changes nothing
    for word in ["wrote", "kept"] {
        let (code, log) = before_rke2_start(target.path());
        assert_eq!(code, 0, "{log}");
        assert!(
            log.contains(&format!("{word} /{MANIFESTS}{node_file}.skip")),
            "{log}"
        );
        assert!(
            std::fs::read_to_string(&skip)
                .unwrap()
                .starts_with("# Generated by harvester-sriov.")
        );
    }

    // a new plan (other counts) is handed over once more
    let sysfs = two_igb().build();
    let cfg = target.path().join("config.yaml");
    std::fs::write(
        &cfg,
        "os:\n  hostname: node-a\nsriov:\n  enabled: true\n  num_vfs: 2\n",
    )
    .unwrap();
    assert!(apply(&cfg, sysfs.path(), target.path()).status.success());
    let (code, log) = before_rke2_start(target.path());
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("first rke2 start with"), "{log}");
    assert!(!skip.exists(), "the new content must be applied once");
    assert_ne!(std::fs::read_to_string(&stamp).unwrap(), stamped);

    // remove takes the stamp and our .skip; an admin's own .skip stays
    assert_eq!(before_rke2_start(target.path()).0, 0);
    assert!(skip.exists());
    let theirs = manifests.join("harvester-sriov-node-other.yaml.skip");
    std::fs::write(&theirs, "mine\n").unwrap();
    let out = bin()
        .args(["remove", "--target"])
        .arg(target.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!skip.exists() && !stamp.exists());
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "mine\n");
}

#[test]
fn before_rke2_start_does_nothing_without_a_pcidevices_file() {
    let (_, _, target) = install(
        "node-a",
        &two_igb(),
        "  enabled: true\n  num_vfs: 4\n  operator: sriov-network-operator\n  device_type: netdevice\n",
        "",
    );
    let before = snapshot(target.path());
    let (code, log) = before_rke2_start(target.path());
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        log,
        "harvester-sriov handoff: node node-a has no pcidevices hand-off file: nothing to do before rke2 starts\n"
    );
    assert_eq!(snapshot(target.path()), before);
}

/// `apply` of `config` on `hardware` into a fresh target: (exit code, stdout, stderr, target).
fn try_apply(hardware: &Tree, config: &str) -> (Option<i32>, String, String, tempfile::TempDir) {
    let sysfs = hardware.build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, config).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        target,
    )
}

/// Issue 15 item 4: an interface name that is not a DNS-1123 label would
/// become a SRIOVNetworkDevice name the API server refuses (pcidevices
/// names it strings.ToLower(node + "-" + nic)): the PF is refused for that
/// hand-off, with the reason, and no object is written for it.
#[test]
fn pcidevices_refuses_a_pf_whose_interface_name_is_not_a_dns_label() {
    for ifname in ["data_0", "eth#0", "ü-eth", "e'x", "a{{b}}", "$(reboot)"] {
        let hw = Tree::new()
            .function(igb("0000:01:00.0", ifname, "52:54:00:12:34:01").function())
            .function(igb("0000:01:00.1", "ens1f1", "52:54:00:12:34:02").function());
        let (code, stdout, stderr, target) =
            try_apply(&hw, &format!("os:\n  hostname: n1\nsriov:\n{PCIDEVICES}"));
        assert_eq!(code, Some(0), "{ifname}: {stderr}");
        assert!(
            stdout.contains(&format!("interface name {ifname:?} is not a DNS-1123 label")),
            "{ifname}: {stdout}"
        );
        materialise(target.path());
        let mut objects = 0;
        for (p, bytes) in snapshot(target.path()) {
            let text = String::from_utf8_lossy(&bytes);
            if p.to_string_lossy().starts_with(MANIFESTS) {
                objects += text.matches("kind: \"SRIOVNetworkDevice\"").count();
                assert!(
                    !text
                        .to_lowercase()
                        .contains(&format!("n1-{}", ifname.to_lowercase())),
                    "{ifname}: {text}"
                );
            }
        }
        assert_eq!(objects, 1, "{ifname}: only ens1f1's object");
    }
}

/// Issue 15 item 6: pcidevices labels its objects `nodename: <node>`, a
/// label value (63 at most): a longer node name is refused up front.
#[test]
fn pcidevices_refuses_a_node_name_longer_than_a_label_value_up_front() {
    for len in [64, 69, 253] {
        let node: String = (0..len).map(|i| if i % 50 == 49 { '.' } else { 'a' }).collect();
        let (code, _, stderr, target) = try_apply(
            &two_igb(),
            &format!("os:\n  hostname: {node}\nsriov:\n{PCIDEVICES}"),
        );
        assert_eq!(code, Some(2), "{len}: {stderr}");
        assert!(
            stderr.contains(&format!("the node name is {len} characters"))
                && stderr.contains("at most 63 characters"),
            "{len}: {stderr}"
        );
        assert!(
            snapshot(target.path())
                .iter()
                .all(|(p, _)| p.to_string_lossy().ends_with("config.yaml"))
        );
    }
}

/// Issue 15 item 6: every name the tool derives for a node name Harvester
/// accepts (a DNS-1123 subdomain of 253) stays within its limit: file names
/// (with the writer's temporary and `.skip` names beside them) and Addons.
#[test]
fn every_derived_name_fits_for_a_253_character_node_name() {
    let node: String = (0..253).map(|i| if i % 60 == 59 { '.' } else { 'b' }).collect();
    for sriov in [OPERATOR, "  enabled: true\n  num_vfs: 4\n  operator: none\n"] {
        let (code, _, stderr, target) =
            try_apply(&two_igb(), &format!("os:\n  hostname: {node}\nsriov:\n{sriov}"));
        assert_eq!(code, Some(0), "{stderr}");
        materialise(target.path());
        for (p, _) in snapshot(target.path()) {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            // `.NAME.skip.harvester-sriov.tmp` must fit in 255 bytes too.
            assert!(
                1 + name.len() + ".skip".len() + ".harvester-sriov.tmp".len() < 256,
                "{}",
                p.display()
            );
            if p.to_string_lossy().starts_with(MANIFESTS) {
                assert!(addon(&name).len() <= 253, "{name}");
            }
        }
    }
}

/// Issue 15 item 7: VFs bound to vfio-pci for another owner are unbound by
/// pcidevices' claim controller at its start (harvester/pcidevices:
/// pkg/controller/pcideviceclaim/pcideviceclaim_controller.go
/// unbindOrphanedPCIDevices): refused when the config turns the addon on,
/// warned otherwise.
#[test]
fn vfio_pci_for_another_owner_is_refused_with_the_pcidevices_addon_and_warned_without() {
    let addon_on =
        "install:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: true\n";
    for operator in ["sriov-network-operator", "none"] {
        let sriov = format!(
            "sriov:\n  enabled: true\n  num_vfs: 4\n  device_type: vfio-pci\n  operator: {operator}\n"
        );
        let (code, _, stderr, target) =
            try_apply(&two_igb(), &format!("os:\n  hostname: n1\n{addon_on}{sriov}"));
        assert_eq!(code, Some(2), "{operator}: {stderr}");
        assert!(
            stderr.contains("unbindOrphanedPCIDevices") && stderr.contains("is true"),
            "{stderr}"
        );
        assert_eq!(snapshot(target.path()).len(), 1, "only the config");
        let (code, _, stderr, _) = try_apply(&two_igb(), &format!("os:\n  hostname: n1\n{sriov}"));
        assert_eq!(code, Some(0), "{operator}: {stderr}");
        assert!(
            stderr.contains("warning: device_type vfio-pci with operator")
                && stderr.contains("unbindOrphanedPCIDevices"),
            "{stderr}"
        );
    }
    // netdevice VFs and the pcidevices hand-off itself are not warned.
    let (_, _, stderr, _) = try_apply(
        &two_igb(),
        "os:\n  hostname: n1\nsriov:\n  enabled: true\n  device_type: netdevice\n  operator: none\n",
    );
    assert!(!stderr.contains("unbindOrphanedPCIDevices"), "{stderr}");
    let (_, _, stderr, _) = try_apply(
        &two_igb(),
        &format!("os:\n  hostname: n1\n{addon_on}sriov:\n{PCIDEVICES}"),
    );
    assert!(!stderr.contains("unbindOrphanedPCIDevices"), "{stderr}");
}

/// Issue 15 item 8: an os.hostname the installer refuses (not a lower-case
/// DNS-1123 subdomain, harvester/harvester-installer:pkg/console/validator.go)
/// is refused, not lower-cased into another node's name.
#[test]
fn an_os_hostname_the_installer_refuses_is_refused() {
    for bad in ["Node-1", "node_1", "-node"] {
        let (code, _, stderr, target) = try_apply(
            &two_igb(),
            &format!("os:\n  hostname: \"{bad}\"\nsriov:\n{PCIDEVICES}"),
        );
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains(&format!("os.hostname: node name {bad:?}")),
            "{stderr}"
        );
        assert_eq!(snapshot(target.path()).len(), 1, "only the config");
    }
}

/// Issue 15 item 5: every command `remove` prints for a person to paste is
/// quoted for a POSIX shell: with a state from an older version that kept
/// an interface named `$(reboot)`, the real `sh` reads each printed command
/// back as the words it names (kubectl replaced by a function printing its
/// arguments), and runs nothing else.
#[test]
fn remove_prints_commands_quoted_for_a_posix_shell() {
    let sysfs = two_igb().build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("config.yaml");
    std::fs::write(&cfg, format!("os:\n  hostname: n1\nsriov:\n{PCIDEVICES}")).unwrap();
    let out = apply(&cfg, sysfs.path(), target.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state = target.path().join("oem/harvester-sriov/state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("\"ens1f0\""), "{text}");
    std::fs::write(
        &state,
        text.replace("\"ens1f0\"", "\"$(touch pwned)`touch pwned2`'x\""),
    )
    .unwrap();
    let out = bin()
        .args(["remove", "--dry-run", "--target"])
        .arg(target.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("kubectl "))
        .collect();
    assert!(lines.len() >= 3, "{stdout}");
    let scratch = tempfile::tempdir().unwrap();
    for line in lines {
        let out = std::process::Command::new("sh")
            .current_dir(scratch.path())
            .arg("-c")
            .arg(format!("kubectl() {{ printf '<%s>' \"$@\"; }}\n{line}"))
            .output()
            .unwrap();
        let words = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{line}");
        if line.contains("sriovnetworkdevice") && line.contains("pwned") {
            assert_eq!(
                words,
                "<patch><sriovnetworkdevice><n1-$(touch pwned)`touch pwned2`'x><--type><merge><-p><{\"spec\":{\"numVFs\":0}}>",
                "{line}"
            );
        }
    }
    assert_eq!(
        std::fs::read_dir(scratch.path()).unwrap().count(),
        0,
        "a printed command ran something"
    );
    assert!(
        stdout.contains("'n1-$(touch pwned)`touch pwned2`'\\''x'"),
        "{stdout}"
    );
}
