//! Issue 16: the tool reads Harvester's config as the installer does and
//! says only true things about what it will do.

use std::path::Path;

use crate::support::hardware::{igb, mgmt};
use crate::support::tree::Tree;
use crate::support::{apply, plan};

/// eno1 (onboard, no SR-IOV, 52:54:00:00:00:01) and an igb ens1f0 (00:1b:21:2b:46:e0).
fn node() -> tempfile::TempDir {
    Tree::new()
        .function(mgmt())
        .function(igb("0000:01:00.0", "ens1f0", "00:1b:21:2b:46:e0").function())
        .build()
}

fn config(dir: &Path, interface: &str) -> std::path::PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "os:\n  hostname: node-1\ninstall:\n  mode: join\n  management_interface:\n    interfaces:\n      - {interface}\nsriov:\n  enabled: true\n  num_vfs: 2\n  operator: none\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_management_nic_that_is_not_on_the_node_is_warned_about_by_plan_and_apply() {
    let sysfs = node();
    let work = tempfile::tempdir().unwrap();
    let missing = [
        (
            "name: eth9",
            "install.management_interface.interfaces[0].name: this node has no interface \"eth9\": the installer stops with \"no interface matching name eth9 found\"",
        ),
        (
            "{name: eth9, hwAddr: \"52:54:00:00:00:01\"}",
            "install.management_interface.interfaces[0].name: this node has no interface \"eth9\": the installer configures the management network on this name",
        ),
        (
            "hwAddr: \"52:54:00:00:00:99\"",
            "install.management_interface.interfaces[0].hwAddr: no interface on this node has MAC 52:54:00:00:00:99: the installer stops",
        ),
    ];
    for (entry, warning) in missing {
        let cfg = config(work.path(), entry);
        let target = tempfile::tempdir().unwrap();
        for out in [
            plan(&cfg, sysfs.path(), target.path()),
            apply(&cfg, sysfs.path(), target.path()),
        ] {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{entry}: {stderr}");
            assert!(
                stderr.contains(&format!("warning: {}: {warning}", cfg.display())),
                "{entry}: {stderr}"
            );
        }
    }
    // present by name, by MAC in any case, with dashes: nothing said
    for entry in [
        "name: eno1",
        "hwAddr: \"52:54:00:00:00:01\"",
        "hwAddr: \"52-54-00-00-00-01\"",
        "HWADDR: \"52:54:00:00:00:01\"",
        "hwAddr: \"5254.0000.0001\"",
    ] {
        let cfg = config(work.path(), entry);
        let out = plan(&cfg, sysfs.path(), work.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{entry}: {stderr}");
        assert!(!stderr.contains("management_interface"), "{entry}: {stderr}");
    }
}

#[test]
fn a_management_mac_with_dashes_and_upper_case_keeps_its_nic_from_vfs() {
    let sysfs = node();
    let work = tempfile::tempdir().unwrap();
    let cfg = config(work.path(), "hwAddr: \"00-1B-21-2B-46-E0\"");
    let out = plan(&cfg, sysfs.path(), work.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("0000:01:00.0") && stdout.contains("management NIC"),
        "{stdout}"
    );
    assert!(!stderr.contains("management_interface"), "{stderr}");
}

fn mode_config(dir: &Path, operator: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{operator}.yaml"));
    std::fs::write(
        &path,
        format!(
            "os:\n  hostname: node-1\ninstall:\n  mode: create\n  management_interface:\n    interfaces:\n      - name: eno1\n  addons:\n    harvester_pcidevices_controller:\n      enabled: true\nsriov:\n  enabled: true\n  num_vfs: 2\n  device_type: netdevice\n  operator: {operator}\n"
        ),
    )
    .unwrap();
    path
}

fn apply_args(args: &[&str], cfg: &Path, sysfs: &Path, target: &Path) -> (i32, String, String) {
    let out = crate::support::bin()
        .args(args)
        .arg("--config")
        .arg(cfg)
        .arg("--sysfs")
        .arg(sysfs)
        .arg("--target")
        .arg(target)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Item 7: with pcidevices the tool creates no VFs and says so; with the
/// other hand-offs the unit does, at boot or with --now.
#[test]
fn apply_says_who_creates_the_vfs_in_each_mode() {
    let work = tempfile::tempdir().unwrap();
    for operator in ["pcidevices", "sriov-network-operator", "none"] {
        let cfg = mode_config(work.path(), operator);
        let sysfs = node();
        let target = tempfile::tempdir().unwrap();
        let (code, stdout, stderr) = apply_args(&["apply"], &cfg, sysfs.path(), target.path());
        assert_eq!(code, 0, "{operator}: {stderr}");
        let pcidevices = operator == "pcidevices";
        assert_eq!(
            stdout.contains("the VFs: with operator pcidevices this tool writes no VF count; the pcidevices agent does, once the cluster runs"),
            pcidevices,
            "{operator}: {stdout}"
        );
        assert_eq!(
            stdout.contains(
                "the VFs: harvester-sriov.service writes each planned count at every boot, the next one first"
            ),
            !pcidevices,
            "{operator}: {stdout}"
        );
        // not a running node: --now is not offered
        assert!(!stdout.contains("--now"), "{operator}: {stdout}");

        let sysfs = node();
        let target = tempfile::tempdir().unwrap();
        let (code, stdout, stderr) = apply_args(&["apply", "--now"], &cfg, sysfs.path(), target.path());
        assert_eq!(code, 0, "{operator}: {stdout}{stderr}");
        let numvfs =
            std::fs::read_to_string(sysfs.path().join("bus/pci/devices/0000:01:00.0/sriov_numvfs")).unwrap();
        if pcidevices {
            assert!(!stdout.contains("creating the VFs"), "{stdout}");
            assert!(
                stdout.contains("checking the PFs now (as harvester-sriov.service does at every boot; with operator pcidevices it writes no VF count: the pcidevices agent creates the VFs"),
                "{stdout}"
            );
            assert!(stdout.contains("0 VFs now; the count is pcidevices'"), "{stdout}");
            assert_eq!(numvfs.trim(), "0", "pcidevices: the tool wrote a count");
        } else {
            assert!(
                stdout.contains("creating the VFs now (as harvester-sriov.service does at every boot):"),
                "{stdout}"
            );
            assert_eq!(numvfs.trim(), "2", "{operator}: {stdout}");
        }
    }
}

#[test]
fn help_for_now_says_what_it_does_per_hand_off() {
    for command in ["apply", "configure"] {
        let out = crate::support::bin().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            help.contains("create the VFs now (operator sriov-network-operator or none); with operator pcidevices only check the PFs, as the pcidevices agent creates the VFs"),
            "{command}: {help}"
        );
    }
}

/// Item 9: a `sriov:` key the chosen hand-off ignores is named, with why.
#[test]
fn a_key_without_effect_in_the_hand_off_is_warned_about() {
    let work = tempfile::tempdir().unwrap();
    let sysfs = node();
    let cases: [(&str, &[&str], &[&str]); 3] = [
        (
            "pcidevices",
            &[
                "sriov.device_type: has no effect with operator pcidevices: the VFs keep their network driver until a PCIDeviceClaim",
                "sriov.resource_name: has no effect with operator pcidevices: only sriov-network-operator's objects use it",
                "sriov.operator_namespace: has no effect with operator pcidevices",
            ],
            &[],
        ),
        (
            "none",
            &[
                "sriov.resource_name: has no effect with operator none",
                "sriov.operator_namespace: has no effect with operator none",
            ],
            &["sriov.device_type:"],
        ),
        ("sriov-network-operator", &[], &["has no effect"]),
    ];
    for (operator, said, unsaid) in cases {
        let cfg = work.path().join("c.yaml");
        std::fs::write(
            &cfg,
            format!(
                "os:\n  hostname: node-1\ninstall:\n  mode: join\nsriov:\n  enabled: true\n  deviceType: netdevice\n  resourceName: fast_nics\n  operator_namespace: sriov-system\n  mtu: 9000\n  operator: {operator}\n"
            ),
        )
        .unwrap();
        let out = plan(&cfg, sysfs.path(), work.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{operator}: {stderr}");
        for s in said {
            assert!(
                stderr.contains(&format!("warning: {}: {s}", cfg.display())),
                "{operator}: {s}\n{stderr}"
            );
        }
        for s in unsaid {
            assert!(!stderr.contains(s), "{operator}: {s}\n{stderr}");
        }
        // mtu is the PF's, set by boot in every mode
        assert!(!stderr.contains("sriov.mtu"), "{operator}: {stderr}");
    }
}

/// Item 9: no sample sets a key its hand-off ignores (join-node.yaml did).
#[test]
fn no_config_sample_sets_a_key_without_effect() {
    let target = tempfile::tempdir().unwrap();
    for sample in crate::support::oracle::config_samples() {
        let out = plan(&sample, &crate::support::sample_sysfs(), target.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", sample.display());
        assert!(
            !stderr.contains("has no effect"),
            "{}: {stderr}",
            sample.display()
        );
    }
}

// ---- Item 5: every sample passes the installer's own validation --------
//
// The rules of harvester/harvester-installer:pkg/console/validator.go
// (v1.8.1) that a config file decides, for modes create and join, with the
// function each comes from. What only the machine decides (the disk and the
// NIC exist, the disk size, MBR/UEFI) is left out. The samples are for an
// automatic (unattended, PXE or install.config_url) install, so
// `commonCheck`'s iso_url rule applies to all of them.

/// A key as the installer reads it for Go field `field`: its loader renames
/// snake_case to the field's name (pkg/config/rename.go `addName`) and
/// encoding/json matches names case-insensitively (pkg/config/schemas.go
/// `LoadHarvesterConfig`).
fn go_key(k: &str, field: &str) -> bool {
    k.eq_ignore_ascii_case(field) || k.replace('_', "").eq_ignore_ascii_case(field)
}

fn field<'a>(v: &'a serde_yaml::Value, field: &str) -> Option<&'a serde_yaml::Value> {
    v.as_mapping()?
        .iter()
        .find(|(k, _)| k.as_str().is_some_and(|k| go_key(k, field)))
        .map(|(_, v)| v)
}

fn text(v: &serde_yaml::Value, path: &[&str]) -> String {
    let mut cur = Some(v);
    for p in path {
        cur = cur.and_then(|c| field(c, p));
    }
    match cur {
        Some(serde_yaml::Value::String(s)) => s.clone(),
        Some(serde_yaml::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// The validator's refusals for one config, as its messages say them.
fn installer_refusals(doc: &serde_yaml::Value) -> Vec<String> {
    let mut out = vec![];
    let mode = text(doc, &["install", "mode"]);
    let server_url = text(doc, &["serverUrl"]);
    let token = text(doc, &["token"]);
    // commonCheck
    match mode.as_str() {
        "create" if !server_url.is_empty() => {
            out.push("commonCheck: ServerURL need to be empty in create mode".into())
        }
        "join" if server_url.is_empty() => out.push("commonCheck: ServerURL can't empty in join mode".into()),
        "create" | "join" => {}
        other => out.push(format!("commonCheck: unknown mode: {other}")),
    }
    if text(doc, &["install", "isoUrl"]).is_empty() {
        out.push("commonCheck: iso_url is required in automatic installation".into());
    }
    if token.is_empty() {
        out.push("commonCheck: token not specified".into());
    }
    let keys = field(doc, "os").and_then(|os| field(os, "sshAuthorizedKeys"));
    if text(doc, &["os", "password"]).is_empty()
        && keys.and_then(|k| k.as_sequence()).is_none_or(|k| k.is_empty())
    {
        out.push("commonCheck: no SSH authorized keys or passwords are set".into());
    }
    // ConfigValidator.Validate
    if text(doc, &["schemeVersion"]) != "1" {
        out.push("Validate: Unsupported Harvester Scheme Version".into());
    }
    let host = text(doc, &["os", "hostname"]);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        out.push(format!("Validate: invalid hostname {host:?}"));
    }
    // checkDevice (diskChecks)
    if text(doc, &["install", "device"]).is_empty() {
        out.push("checkDevice: no device specified".into());
    }
    let mi = field(doc, "install").and_then(|i| field(i, "managementInterface"));
    let ifaces = mi
        .and_then(|m| field(m, "interfaces"))
        .and_then(|i| i.as_sequence())
        .map_or(0, Vec::len);
    if ifaces == 0 {
        out.push("Validate: networks is deprecated, please use management_interface".into());
    }
    // checkNetworks
    let method = text(doc, &["install", "managementInterface", "method"]);
    match method.as_str() {
        "dhcp" => {}
        "static" => {
            let dns = field(doc, "os")
                .and_then(|os| field(os, "dnsNameservers"))
                .and_then(|d| d.as_sequence())
                .map_or(0, Vec::len);
            if dns == 0 {
                out.push("checkNetworks: DNS servers are required for static IP address".into());
            }
            for f in ["ip", "subnetMask", "gateway"] {
                if !ip(&text(doc, &["install", "managementInterface", f])) {
                    out.push(format!("checkNetworks: must specify {f} in static method"));
                }
            }
        }
        _ => out.push(
            "checkNetworks: management network must configure with either static or DHCP method".into(),
        ),
    }
    // checkToken
    let token_char = |c: char| c.is_ascii_alphanumeric() || " !\"#$%&'()*+,-./:;<=>?@^_`{|}~[]\\".contains(c);
    if !token.is_empty() && !token.chars().all(token_char) {
        out.push("checkToken: Invalid token".into());
    }
    if mode == "create" {
        // checkVip
        if !ip(&text(doc, &["install", "vip"])) {
            out.push("checkVip: vip is not a valid IP address".into());
        }
        match text(doc, &["install", "vipMode"]).as_str() {
            "static" | "none" => {}
            "dhcp" if text(doc, &["install", "vipHwAddr"]).len() == 17 => {}
            "dhcp" => out.push("checkVip: vip_hw_addr is an invalid hardware address".into()),
            other => out.push(format!("checkVip: unknown vip mode: {other}")),
        }
        // checkSystemSettings: the samples set none (the allow list is the installer's)
        if field(doc, "systemSettings").is_some() {
            out.push("checkSystemSettings: the samples must not set system_settings".into());
        }
    }
    out
}

#[test]
fn every_config_sample_passes_the_installers_validation_for_its_mode() {
    let samples = crate::support::oracle::config_samples();
    assert!(samples.len() >= 5, "{samples:?}");
    for sample in &samples {
        let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
        let refusals = installer_refusals(&doc);
        assert!(refusals.is_empty(), "{}: {refusals:#?}", sample.display());
    }
}

#[test]
fn the_installer_rules_refuse_what_the_validator_refuses() {
    let ok = std::fs::read_to_string(crate::support::repo().join("config-samples/create-single-node.yaml"))
        .unwrap();
    let join = std::fs::read_to_string(crate::support::repo().join("config-samples/join-node.yaml")).unwrap();
    let cases = [
        (
            ok.replace("  iso_url:", "  #iso_url:"),
            "iso_url is required in automatic installation",
        ),
        (
            ok.replace("method: dhcp", "method: dhcpv6"),
            "either static or DHCP method",
        ),
        (
            ok.replace("token: change-me", "token: \"\""),
            "token not specified",
        ),
        (
            ok.replace("token: change-me", "token: \"chänge\""),
            "Invalid token",
        ),
        (
            ok.replace("  password: change-me", ""),
            "no SSH authorized keys or passwords are set",
        ),
        (ok.replace("  device: /dev/sda", ""), "no device specified"),
        (
            ok.replace("vip_mode: static", "vip_mode: fixed"),
            "unknown vip mode",
        ),
        (
            ok.replace("scheme_version: 1", "scheme_version: 2"),
            "Scheme Version",
        ),
        (
            ok.replace("harvester-node-1", "Harvester-Node-1"),
            "invalid hostname",
        ),
        (
            ok.replace("method: dhcp", "method: static"),
            "DNS servers are required",
        ),
        (
            join.replace("serverUrl: https://10.0.0.100:443", ""),
            "ServerURL can't empty in join mode",
        ),
        // the installer's key rule: camelCase and any case are read
        (ok.replace("  iso_url:", "  ISOURL:"), ""),
    ];
    for (text, refusal) in cases {
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let got = installer_refusals(&doc);
        if refusal.is_empty() {
            assert!(got.is_empty(), "{got:?}");
        } else {
            assert!(got.iter().any(|r| r.contains(refusal)), "{refusal}: {got:?}");
        }
    }
}

/// Item 11: on a node the tool never wrote to, `verify`, `boot` and
/// `handoff` say so, and what to run, not only "cannot read".
#[test]
fn commands_that_need_the_state_say_when_the_tool_was_never_applied() {
    let target = tempfile::tempdir().unwrap();
    let state = target.path().join("oem/harvester-sriov/state.json");
    let sysfs = crate::support::sample_sysfs();
    let runs: [Vec<std::ffi::OsString>; 3] = [
        vec![
            "verify".into(),
            "--sysfs".into(),
            sysfs.clone().into(),
            "--target".into(),
            target.path().into(),
        ],
        vec![
            "boot".into(),
            "--sysfs".into(),
            sysfs.into(),
            "--state".into(),
            state.clone().into(),
        ],
        vec!["handoff".into(), "--target".into(), target.path().into()],
    ];
    for args in runs {
        let out = crate::support::bin().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "harvester-sriov: error: {}: no state file: harvester-sriov has not been applied on this node (or was removed); run `harvester-sriov apply --config FILE` or `harvester-sriov configure` first, or pass --state/--target where it was applied\n",
                state.display()
            ),
            "{args:?}"
        );
    }
}

/// Item 11: `remove` takes its own directory out once empty, and names the
/// node labels that stay on the Node.
#[test]
fn remove_leaves_no_empty_directory_and_names_the_node_labels() {
    let target = tempfile::tempdir().unwrap();
    let sample = crate::support::repo().join("config-samples/pcidevices.yaml");
    let out = apply(&sample, &crate::support::sample_sysfs(), target.path());
    assert_eq!(out.status.code(), Some(0));
    let out = crate::support::bin()
        .args(["remove", "--target"])
        .arg(target.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!target.path().join("oem/harvester-sriov").exists(), "{stdout}");
    assert!(
        stdout.contains("oem/harvester-sriov/ (its directory)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "kubectl label node harvester-node-3 feature.node.kubernetes.io/network-sriov.capable-   # the node labels this node was given"
        ),
        "{stdout}"
    );
    // something not ours in it: the directory stays
    let out = apply(&sample, &crate::support::sample_sysfs(), target.path());
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(target.path().join("oem/harvester-sriov/mine.txt"), "x").unwrap();
    let out = crate::support::bin()
        .args(["remove", "--target"])
        .arg(target.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(target.path().join("oem/harvester-sriov/mine.txt").exists());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("(its directory)"));
}

/// Item 11: `boot --help` names the unit that runs it, `remove --help`
/// describes its flags, and the exit-code line keeps `hook`'s log apart.
#[test]
fn help_says_who_runs_boot_what_remove_flags_do_and_what_exit_2_keeps() {
    let help = |args: &[&str]| {
        let out = crate::support::bin().args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let boot = help(&["boot", "--help"]);
    assert!(
        boot.contains("run at every boot by harvester-sriov.service"),
        "{boot}"
    );
    assert!(!boot.contains("cloud-init"), "{boot}");
    let remove = help(&["remove", "--help"]);
    assert!(
        remove.contains("--target <ROOT> Root of the node's file system to remove from"),
        "{remove}"
    );
    assert!(
        remove.contains("--dry-run Show what would be removed and what stays; remove nothing"),
        "{remove}"
    );
    let top = help(&["--help"]);
    assert!(
        top.contains("2 error (nothing changed, but for `hook`: its hook.log line)"),
        "{top}"
    );
}

/// Item 11: the note for join (agent) nodes is not said on a create node,
/// whose rke2 server applies the manifests itself.
#[test]
fn the_join_node_note_is_said_on_a_join_node_only() {
    let work = tempfile::tempdir().unwrap();
    let sysfs = node();
    for (mode, said) in [("create", false), ("join", true)] {
        let cfg = work.path().join(format!("{mode}.yaml"));
        std::fs::write(
            &cfg,
            format!("os:\n  hostname: node-1\ninstall:\n  mode: {mode}\n  addons:\n    harvester_pcidevices_controller:\n      enabled: true\nsriov:\n  enabled: true\n  num_vfs: 2\n"),
        )
        .unwrap();
        let target = tempfile::tempdir().unwrap();
        let out = apply(&cfg, sysfs.path(), target.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(target.path().join("oem/95_harvester-sriov.yaml").exists());
        assert_eq!(
            stderr.contains("on a join (agent) node run"),
            said,
            "{mode}: {stderr}"
        );
    }
}

/// Item 11: with operator pcidevices `verify` does not claim "0 VFs
/// (vfio-pci)": it compared no count and no driver, and says so.
#[test]
fn verify_with_pcidevices_says_what_it_did_not_compare() {
    let target = tempfile::tempdir().unwrap();
    let sysfs = crate::support::sample_sysfs();
    let sample = crate::support::repo().join("config-samples/pcidevices.yaml");
    assert_eq!(apply(&sample, &sysfs, target.path()).status.code(), Some(0));
    let out = crate::support::bin()
        .args(["verify", "--sysfs"])
        .arg(&sysfs)
        .arg("--target")
        .arg(target.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(
        stdout,
        "verify: node harvester-node-3 as planned: 1 PFs found, 3 files (operator pcidevices: the VF counts and drivers are its controller's, not compared)\n"
    );
}
