//! Proof with Harvester's own code (issue 11 item 7): the real binary's
//! `apply` on every `config-samples/` file against the shipped sysfs tree,
//! then yip — the version Harvester's OS runs it with (rancher/yip v1.9.6, the
//! pin of rancher/elemental-toolkit v2.1.2 to v2.3.2), built by
//! `scripts/oracles.sh` into `target/oracles/yip` from `tests/oracles/yip` —
//! loads every file under the target's `/oem` the way it walks `/oem` at
//! every boot, and runs the `initramfs` stage into a scratch root holding only
//! that `/oem`: what it leaves there is what the node gets at boot.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::support::oracle::{config_samples, oracle};
use crate::support::{apply, bin, plan_json, repo, sample_sysfs};

const YIP_FILE: &str = "/oem/95_harvester-sriov.yaml";
const UNIT: &str = "harvester-sriov.service";
const UNIT_PATH: &str = "/etc/systemd/system/harvester-sriov.service";

/// One sample: `apply` into a fresh target, its plan, and yip's verdict on it.
struct Run {
    name: String,
    target: tempfile::TempDir,
    /// The scratch root yip's initramfs stage ran into: a copy of the
    /// target's /oem and what yip wrote (the node's files after a boot).
    booted: tempfile::TempDir,
    plan: Value,
    yip: Value,
    yip_code: i32,
    millis: u128,
}

impl Run {
    fn new(config: &Path) -> Run {
        let name = config.file_name().unwrap().to_string_lossy().into_owned();
        let target = tempfile::tempdir().unwrap();
        let out = apply(config, &sample_sysfs(), target.path());
        assert!(
            out.status.success(),
            "{name}: apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The plan against an empty root: every file the node needs, with its bytes.
        let empty = tempfile::tempdir().unwrap();
        let out = plan_json(config, &sample_sysfs(), empty.path());
        assert!(
            out.status.success(),
            "{name}: plan failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        Run::judge(name, target, plan)
    }

    fn judge(name: String, target: tempfile::TempDir, plan: Value) -> Run {
        let booted = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let out = Command::new(oracle("yip"))
            .arg("--root")
            .arg(target.path())
            .arg("--keep")
            .arg(booted.path())
            .output()
            .unwrap();
        let millis = t0.elapsed().as_millis();
        let yip: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{name}: the yip oracle printed no JSON ({e}), exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        Run {
            name,
            target,
            booted,
            plan,
            yip,
            yip_code: out.status.code().unwrap_or(-1),
            millis,
        }
    }

    fn reasons(&self) -> String {
        serde_json::to_string_pretty(&self.yip["reasons"]).unwrap()
    }

    fn yip_file(&self, path: &str) -> Option<&Value> {
        self.yip["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
    }
}

fn runs() -> Vec<Run> {
    config_samples().iter().map(|c| Run::new(c)).collect()
}

/// Every file under `dir`, as `/oem/...` paths.
fn oem_files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(format!("/{}", p.strip_prefix(root).unwrap().display()));
            }
        }
    }
    let mut out = vec![];
    if root.join("oem").is_dir() {
        walk(root, &root.join("oem"), &mut out);
    }
    out.sort();
    out
}

#[test]
fn yip_loads_every_file_under_oem() {
    for r in runs() {
        assert_eq!(
            r.yip["load_errors"],
            Value::Array(vec![]),
            "{}: yip cannot load a file the tool left under /oem",
            r.name
        );
        let mut loaded: Vec<&str> = r.yip["loaded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        loaded.sort_unstable();
        let yaml: Vec<String> = oem_files(r.target.path())
            .into_iter()
            .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml"))
            .collect();
        assert_eq!(loaded, yaml, "{}: yip's walk of /oem", r.name);
        let ours = r.yip["loaded"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == YIP_FILE)
            .unwrap_or_else(|| panic!("{}: {YIP_FILE} not loaded", r.name));
        assert!(
            ours["stages"]["initramfs"].as_u64().unwrap_or(0) > 0,
            "{}: {YIP_FILE} has no initramfs step: {ours}",
            r.name
        );
    }
}

/// After yip's initramfs stage, the tool's own `verify` finds every planned
/// file as planned in the root yip left: the bytes the tool meant went
/// through yip's YAML reading and Go-template expansion unchanged, and yip
/// wrote nothing else.
#[test]
fn yip_initramfs_stage_writes_the_planned_files_byte_for_byte() {
    for r in runs() {
        assert_eq!(r.yip_code, 0, "{}: yip judged it wrong: {}", r.name, r.reasons());
        let out = bin()
            .args(["verify", "--format", "json", "--sysfs"])
            .arg(sample_sysfs())
            .arg("--target")
            .arg(r.booted.path())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: verify printed no JSON ({e}): {}",
                r.name,
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let root = r.booted.path().display().to_string();
        let file_differences: Vec<&str> = v["differences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .filter(|d| d.starts_with(&root))
            .collect();
        assert!(
            file_differences.is_empty(),
            "{}: after yip's initramfs stage the files are not as planned: {file_differences:?}",
            r.name
        );
        let outside: Vec<&Value> = r.yip["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["path"].as_str().unwrap().starts_with("/oem/"))
            .collect();
        assert!(!outside.is_empty(), "{}: yip wrote nothing outside /oem", r.name);
        let in_oem = oem_files(r.target.path()).len();
        assert_eq!(
            v["files_checked"].as_u64(),
            Some((in_oem + outside.len()) as u64),
            "{}: verify checked every planned file; apply left {in_oem} under /oem and yip wrote {:?}",
            r.name,
            outside.iter().map(|f| &f["path"]).collect::<Vec<_>>()
        );
        let planned_modes: Vec<(&Value, &Value)> = r.plan["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (&f["path"], &f["mode"]))
            .collect();
        for f in outside {
            let path = &f["path"];
            assert_eq!(
                (f["uid"].as_i64(), f["gid"].as_i64()),
                (Some(0), Some(0)),
                "{}: {path}: owner",
                r.name
            );
            let mode = u32::from_str_radix(f["mode"].as_str().unwrap(), 8).unwrap();
            assert_eq!(
                mode & 0o022,
                0,
                "{}: {path}: writable by others: {mode:o}",
                r.name
            );
            if let Some((_, want)) = planned_modes.iter().find(|(p, _)| *p == path) {
                assert_eq!(&f["mode"], *want, "{}: {path}: mode", r.name);
            }
        }
        assert!(
            r.yip["commands"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["template_unchanged"] == true),
            "{}: yip's template expansion changed a command: {}",
            r.name,
            r.yip["commands"]
        );
        eprintln!("oracle yip: {}: {} ms", r.name, r.millis);
    }
}

#[test]
fn yip_initramfs_stage_installs_and_enables_the_unit() {
    for r in runs() {
        let unit = r
            .yip_file(UNIT_PATH)
            .unwrap_or_else(|| panic!("{}: yip's initramfs stage did not write {UNIT_PATH}", r.name));
        assert_eq!(unit["mode"], "0644", "{}: {UNIT_PATH}", r.name);
        let enabled = r.yip["enabled_units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["unit"] == UNIT)
            .unwrap_or_else(|| {
                panic!(
                    "{}: {UNIT} not enabled by the initramfs stage (systemctl: enable:); commands run: {}; reasons: {}",
                    r.name,
                    r.yip["commands"],
                    r.reasons()
                )
            });
        assert_eq!(enabled["unit_file"], UNIT_PATH, "{}", r.name);
        assert!(
            enabled["install"]
                .as_array()
                .unwrap()
                .contains(&Value::from("WantedBy=multi-user.target")),
            "{}: {UNIT}: {enabled}",
            r.name
        );
        let loaded = r.yip["loaded"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == YIP_FILE)
            .unwrap();
        assert!(
            loaded["stages"].get("boot").is_none(),
            "{}: {YIP_FILE} still has a yip boot stage (ordered only before getty, not before rke2)",
            r.name
        );
        assert_eq!(r.yip_code, 0, "{}: {}", r.name, r.reasons());
    }
}

#[test]
fn apply_leaves_only_oem_and_a_single_yip_file() {
    for r in runs() {
        let top: Vec<String> = std::fs::read_dir(r.target.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "oem")
            .collect();
        assert!(
            top.is_empty(),
            "{}: apply wrote outside /oem ({top:?}): the initramfs stage materialises those at boot",
            r.name
        );
        let files = oem_files(r.target.path());
        let yaml: Vec<&String> = files
            .iter()
            .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml"))
            .collect();
        assert_eq!(yaml, [YIP_FILE], "{}: the only *.yaml/*.yml under /oem", r.name);
        for need in [
            "/oem/harvester-sriov/harvester-sriov",
            "/oem/harvester-sriov/state.json",
        ] {
            assert!(
                files.iter().any(|f| f == need),
                "{}: {need} missing: {files:?}",
                r.name
            );
        }
    }
}

/// The oracle itself can say no: a file yip cannot load is judged wrong.
#[test]
fn yip_oracle_rejects_an_oem_file_yip_cannot_load() {
    let config = repo().join("config-samples/create-single-node.yaml");
    let r = Run::new(&config);
    let bad = r.target.path().join("oem/harvester-sriov/notes.yml");
    std::fs::write(&bad, "stages: [\n").unwrap();
    let r = Run::judge(r.name, r.target, r.plan);
    assert_eq!(r.yip_code, 1, "{}", r.yip);
    assert_eq!(r.yip["verdict"], "wrong");
    assert!(
        r.reasons().contains("/oem/harvester-sriov/notes.yml"),
        "{}",
        r.reasons()
    );
}

/// The oracle itself can say no, and tell: a unit enabled without an
/// [Install] section is judged wrong; content that Go templates change is
/// reported (the byte-for-byte test compares the bytes with the plan).
#[test]
fn yip_oracle_rejects_template_expansion_and_a_unit_without_install() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("oem")).unwrap();
    std::fs::write(
        root.path().join("oem/95_test.yaml"),
        "name: t\nstages:\n  initramfs:\n    - files:\n        - path: /etc/t.conf\n          permissions: 420\n          \
         content: \"x={{ .Values.os.name }}\\n\"\n        - path: /etc/systemd/system/t.service\n          \
         permissions: 420\n          content: \"[Service]\\nExecStart=/bin/true\\n\"\n      systemctl:\n        \
         enable: [t.service]\n",
    )
    .unwrap();
    let out = Command::new(oracle("yip"))
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons = v["reasons"].to_string();
    assert!(reasons.contains("no [Install] section"), "{reasons}");
    assert_eq!(v["enabled_units"], Value::Array(vec![]));
    let file = |path: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap()
            .clone()
    };
    assert_eq!(file("/etc/t.conf")["template_unchanged"], false);
    assert_eq!(file("/etc/systemd/system/t.service")["template_unchanged"], true);
}

/// Every yip file shipped as a snippet (a top-level `stages:`, e.g. for the
/// live installer medium's `/oem`) loads with yip and runs each of its
/// stages with commands unchanged by yip's templates. (Checks each one there
/// is; the installer-hooks/ of the `flow` design ship none.)
#[test]
fn yip_runs_every_shipped_yip_snippet() {
    for e in std::fs::read_dir(repo().join("installer-hooks")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let y: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let Some(stages) = y.get("stages").and_then(|s| s.as_mapping()) else {
            continue;
        };
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("oem")).unwrap();
        std::fs::copy(&p, root.path().join("oem").join(p.file_name().unwrap())).unwrap();
        for stage in stages.keys() {
            let stage = stage.as_str().unwrap();
            let out = Command::new(oracle("yip"))
                .arg("--root")
                .arg(root.path())
                .arg("--stage")
                .arg(stage)
                .output()
                .unwrap();
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: stage {stage}: {}",
                p.display(),
                v["reasons"]
            );
            assert!(
                !v["commands"].as_array().unwrap().is_empty(),
                "{}: stage {stage} ran no command",
                p.display()
            );
        }
    }
}

/// `remove` really removes: at the next boot, yip's initramfs stage finds
/// nothing of ours under /oem and re-creates no file and enables no unit.
#[test]
fn after_remove_yip_recreates_nothing_at_boot() {
    for config in config_samples() {
        let r = Run::new(&config);
        let out = bin()
            .arg("remove")
            .arg("--target")
            .arg(r.target.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: remove failed: {}",
            r.name,
            String::from_utf8_lossy(&out.stderr)
        );
        // /oem is a partition of its own on the node: it stays.
        std::fs::create_dir_all(r.target.path().join("oem")).unwrap();
        let r = Run::judge(r.name, r.target, r.plan);
        assert_eq!(r.yip_code, 0, "{}: {}", r.name, r.reasons());
        assert_eq!(
            r.yip["loaded"],
            Value::Array(vec![]),
            "{}: left under /oem",
            r.name
        );
        assert_eq!(
            r.yip["files"],
            Value::Array(vec![]),
            "{}: written at boot",
            r.name
        );
        assert_eq!(r.yip["enabled_units"], Value::Array(vec![]), "{}", r.name);
    }
}
