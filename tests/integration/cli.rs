//! How the binary ends: a closed stdout, and the one line an error prints.

use std::process::Stdio;

use crate::support::{bin, repo, sample_sysfs};

/// `detect | head`: once the reader is gone, writing fails with EPIPE (Rust
/// ignores SIGPIPE). That is no error: exit 0, nothing on stderr. The read
/// end of a real pipe is closed before the program starts, so every write
/// hits it.
#[test]
fn a_closed_stdout_is_success_and_quiet() {
    let config = repo().join("config-samples/create-single-node.yaml");
    let target = tempfile::tempdir().unwrap();
    let runs: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["detect".into(), "--all".into()],
        vec!["detect".into(), "--format".into(), "json".into()],
        vec![
            "plan".into(),
            "--config".into(),
            config.clone().into(),
            "--target".into(),
            target.path().into(),
        ],
    ];
    for args in runs {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("harvester-sriov"))
            .args(&args)
            .arg("--sysfs")
            .arg(sample_sysfs())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        // `plan` prints its notes to stderr before the table: only those.
        assert!(
            !stderr.contains("error") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}

/// The cause of an error is printed once: the message, then its source,
/// never the source's text twice.
#[test]
fn an_error_prints_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let m = missing.display();
    let d = dir.path().display();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["apply".into(), "--config".into(), m.to_string()],
            format!("harvester-sriov: error: {m}: cannot read: No such file or directory (os error 2)\n"),
        ),
        // a state that is a directory: read(2) says EISDIR
        (
            vec!["boot".into(), "--state".into(), d.to_string()],
            format!(
                "harvester-sriov: error: {d}: cannot read the state file: Is a directory (os error 21)\n"
            ),
        ),
        (
            vec![
                "verify".into(),
                "--target".into(),
                dir.path().display().to_string(),
                "--state".into(),
                d.to_string(),
            ],
            format!(
                "harvester-sriov: error: {d}: cannot read the state file: Is a directory (os error 21)\n"
            ),
        ),
    ];
    for (args, want) in cases {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
    }
}
