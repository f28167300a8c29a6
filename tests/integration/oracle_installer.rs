//! Proof with Harvester's own code (issue 11 item 7): the installer's config
//! code (github.com/harvester/harvester-installer/pkg/config v1.8.1, built by
//! `scripts/oracles.sh` into `target/oracles/harvester-installer` from
//! `tests/oracles/harvester-installer`) on every `config-samples/` file and
//! every `installer-hooks/` snippet with `os.after_install_chroot_commands`:
//! the installer's loader accepts each one, the copy it saves for
//! `harv-install` has no `sriov:` section and lower-cased key names, and the
//! `after-install-chroot` stage it builds runs exactly the snippet's commands.
//!
//! NOT WIRED YET (no `mod oracle_installer;` in main.rs, no line in
//! scripts/oracles.sh): the Go module proxy reachable here refuses
//! github.com/harvester/harvester-installer (403 "not available" for every
//! version). Verified by hand against a build of the v1.8.1 tag; see
//! tests/oracles/harvester-installer/README.md for how to wire it in.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::oracle::{config_samples, oracle};
use crate::support::repo;

fn run(args: &[PathBuf], base: Option<PathBuf>) -> (i32, Value) {
    let mut c = Command::new(oracle("harvester-installer"));
    if let Some(b) = base {
        c.arg("--base").arg(b);
    }
    let out = c.args(args).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the harvester-installer oracle printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn installer_accepts_every_sample_and_its_saved_copy_drops_sriov() {
    let files = config_samples();
    let (code, v) = run(&files, None);
    assert_eq!(code, 0, "{}", v["reasons"]);
    for f in v["files"].as_array().unwrap() {
        let name = f["file"].as_str().unwrap();
        assert_eq!(f["accepted"], true, "{name}: {}", f["error"]);
        assert_eq!(
            f["raw_has_sriov"], true,
            "{name}: the sample has no sriov section"
        );
        assert_eq!(
            f["saved_has_sriov"], false,
            "{name}: the installer's saved copy kept sriov: {}",
            f["saved_top_keys"]
        );
        let install = strings(&f["saved_install_keys"]);
        assert!(install.contains(&"managementinterface"), "{name}: {install:?}");
        assert!(!install.iter().any(|k| k.contains('_')), "{name}: {install:?}");
    }
}

/// The snippets that put commands into `os.after_install_chroot_commands`.
fn hook_snippets() -> Vec<(PathBuf, Vec<String>)> {
    let mut out = vec![];
    for e in std::fs::read_dir(repo().join("installer-hooks")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let y: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let Some(cmds) = y.get("os").and_then(|o| o.get("after_install_chroot_commands")) else {
            continue;
        };
        let cmds = cmds
            .as_sequence()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        out.push((p, cmds));
    }
    out.sort();
    assert!(
        !out.is_empty(),
        "no installer-hooks snippet with after_install_chroot_commands"
    );
    out
}

#[test]
fn installer_builds_the_chroot_stage_from_each_hook_snippet() {
    let snippets = hook_snippets();
    let files: Vec<PathBuf> = snippets.iter().map(|(p, _)| p.clone()).collect();
    // A snippet is part of a whole config: merged into a complete one (join
    // mode: create mode needs the addon templates of a built ISO).
    let (code, v) = run(&files, Some(repo().join("config-samples/join-node.yaml")));
    assert_eq!(code, 0, "{}", v["reasons"]);
    for ((path, cmds), f) in snippets.iter().zip(v["files"].as_array().unwrap()) {
        let name = path.display();
        assert_eq!(f["accepted"], true, "{name}: {}", f["error"]);
        assert_eq!(f["saved_has_sriov"], false, "{name}");
        let stage = f["after_install_chroot_stage"].as_array().unwrap();
        assert_eq!(stage.len(), 1, "{name}: {stage:?}");
        assert_eq!(
            strings(&stage[0]["commands"]),
            *cmds,
            "{name}: the chroot stage's commands"
        );
    }
}
