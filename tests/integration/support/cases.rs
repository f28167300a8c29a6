//! The in/out cases, cargo-testsuite style: `tests/cases/<command>/<name>/`
//! for `apply`, `plan`, `remove` and `verify`, run by one runner.
//!
//! A case's `in/`:
//! - `hardware.yaml`: the node's PCI functions ([`super::hardware`] builds
//!   the fake sysfs from it);
//! - `config.yaml`: the install config (`apply` and `plan` read it; the
//!   other commands' cases apply it first through `node.yaml`);
//! - `node.yaml` (optional): what the node went through before the command,
//!   in this order (see [`Before`]):
//!   ```yaml
//!   apply: config.yaml     # `apply --config in/<file>`, then the yip file's boot stage (materialise)
//!   boot: true             # `boot --wait 0`: the planned VF counts written
//!   sysfs:                 # then these files of the fake sysfs written (text) or removed (~)
//!     bus/pci/devices/0000:01:00.0/sriov_numvfs: "1\n"
//!   target:                # and these files of the target
//!     etc/modprobe.d/other.conf: "options foo bar=1\n"
//!   ```
//! - `args` (optional): more flags for the command, on one line
//!   (`--format json`).
//!
//! Its expected outcome, beside `in/`: `out.stdout`, `out.stderr` (this
//! run's temporary paths replaced by `[TARGET]`, `[SYSFS]`, `[CASE]`, and
//! the size of the binary a plan would install by `[BINARY SIZE]`),
//! `out.status` (the exit code), and for the commands that change the
//! target (`apply`, `remove`) `out/`, the exact files of the target
//! afterwards. Each command's module adds its own checks (`plan` and
//! `verify`: nothing written anywhere).
//!
//! `HARVESTER_SRIOV_BLESS=overwrite cargo test --test integration
//! <command>::` rewrites the expected files that differ, and fails (so it
//! never passes by itself); review the diff, then run again without it. Any
//! other value, or any value under `CI`, is an error.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{apply, bin, materialise, repo, snapshot};

/// Where the cases are: `tests/cases/<command>/<name>/`.
pub(crate) fn root() -> PathBuf {
    repo().join("tests/cases")
}

/// The directory of one case, `"<command>/<name>"`.
pub(crate) fn dir(case: &str) -> PathBuf {
    let d = root().join(case);
    assert!(d.join("in").is_dir(), "no case {}", d.display());
    d
}

/// The cases of one command, sorted by name. Anything else there (a
/// directory without `in/hardware.yaml`, a file) fails: a case that does
/// not run must not look like one that passes.
pub(crate) fn list(command: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(command))
        .unwrap_or_else(|e| panic!("{}: {e}", root().join(command).display()))
        .map(|e| e.unwrap().path())
        .collect();
    for p in &v {
        assert!(
            p.join("in/hardware.yaml").is_file(),
            "{}: not a case (no in/hardware.yaml)",
            p.display()
        );
    }
    v.sort();
    v
}

/// The cases of every command.
pub(crate) fn all() -> Vec<PathBuf> {
    COMMANDS.iter().flat_map(|c| list(c)).collect()
}

/// The commands with in/out cases.
pub(crate) const COMMANDS: [&str; 4] = ["apply", "plan", "remove", "verify"];

/// `HARVESTER_SRIOV_BLESS=overwrite` (exactly that value) rewrites the
/// expected files that differ; any other value is an error, so a stray
/// `HARVESTER_SRIOV_BLESS=0` cannot bless by accident. Under `CI` it is an
/// error too: CI compares, it never rewrites.
pub(crate) fn bless_mode(bless: Option<&str>, ci: Option<&str>) -> Result<bool, String> {
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

/// One case's expected files: `out/` (the target tree), `out.stdout`,
/// `out.stderr` and `out.status`, each with its relative path under the
/// case directory.
fn expected(case: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = snapshot(&case.join("out"))
        .into_iter()
        .map(|(p, b)| (Path::new("out").join(p), b))
        .collect();
    for name in ["out.stdout", "out.stderr", "out.status"] {
        // A missing snapshot compares as missing (it differs from any output).
        if let Ok(bytes) = std::fs::read(case.join(name)) {
            files.push((PathBuf::from(name), bytes));
        }
    }
    files.retain(|(p, _)| !p.as_os_str().to_string_lossy().ends_with('/'));
    files.sort();
    files
}

/// Compare `got` with the case's expected files. With `bless`, rewrite
/// those that differ (and delete those no longer produced) and return
/// their names; without, return the differences as one message.
pub(crate) fn check_or_bless(
    case: &Path,
    got: &[(PathBuf, Vec<u8>)],
    bless: bool,
) -> Result<Vec<PathBuf>, String> {
    let expected = expected(case);
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

/// Output with this run's temporary paths replaced by stable names.
pub(crate) fn normalise(bytes: &[u8], paths: &[(&Path, &str)]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    for (path, name) in paths {
        text = text.replace(&path.display().to_string(), name);
    }
    text.into_bytes()
}

/// The size of the program under test, where a plan shows the binary it
/// would install (`(binary, N bytes)`), as `[BINARY SIZE]`: it changes with
/// every build.
fn binary_size(text: Vec<u8>, program_len: u64) -> Vec<u8> {
    String::from_utf8_lossy(&text)
        .replace(
            &format!("(binary, {program_len} bytes)"),
            "(binary, [BINARY SIZE] bytes)",
        )
        .into_bytes()
}

/// What the node went through before the command (`in/node.yaml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Before {
    /// `apply --config in/<file>` (it must succeed), then what the yip file
    /// writes at boot ([`materialise`]).
    pub apply: Option<String>,
    /// `boot --wait 0` (it must succeed).
    #[serde(default)]
    pub boot: bool,
    /// Files of the fake sysfs (relative paths) written with this text, or
    /// removed (`~`), in path order.
    #[serde(default)]
    pub sysfs: BTreeMap<String, Option<String>>,
    /// Files of the target likewise, after the sysfs.
    #[serde(default)]
    pub target: BTreeMap<String, Option<String>>,
}

impl Before {
    /// Read `in/node.yaml` (none: nothing before); an error names the file
    /// and the field.
    pub(crate) fn read(case: &Path) -> Result<Before, String> {
        let file = case.join("in/node.yaml");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Before::default()),
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        // comments only (a case that says why nothing happened before)
        if serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok_and(|v| v.is_null()) {
            return Ok(Before::default());
        }
        let before: Before = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        if let Some(config) = &before.apply
            && !plain_relative(config)
        {
            return Err(format!(
                "{}: apply: {config:?} is not the name of a file in in/",
                file.display()
            ));
        }
        for (field, files) in [("sysfs", &before.sysfs), ("target", &before.target)] {
            for path in files.keys() {
                if !plain_relative(path) {
                    return Err(format!(
                        "{}: {field}: {path:?} is not a relative path without `..`",
                        file.display()
                    ));
                }
            }
        }
        Ok(before)
    }
}

fn plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// A case's node, ready for the command: its fake sysfs and its target.
pub(crate) struct Node {
    pub sysfs: tempfile::TempDir,
    pub target: tempfile::TempDir,
}

impl Node {
    /// Build the case's hardware, then go through its `in/node.yaml`.
    pub(crate) fn prepare(case: &Path) -> Node {
        let hardware = case.join("in/hardware.yaml");
        let sysfs = super::hardware::load(&hardware)
            .unwrap_or_else(|e| panic!("{e}"))
            .build();
        let target = tempfile::tempdir().unwrap();
        let before = Before::read(case).unwrap_or_else(|e| panic!("{e}"));
        if let Some(config) = &before.apply {
            let out = apply(&case.join("in").join(config), sysfs.path(), target.path());
            assert!(
                out.status.success(),
                "{}: the apply of in/node.yaml failed:\n{}",
                case.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            materialise(target.path());
        }
        if before.boot {
            let out = bin()
                .args(["boot", "--wait", "0", "--sysfs"])
                .arg(sysfs.path())
                .arg("--state")
                .arg(target.path().join("oem/harvester-sriov/state.json"))
                .timeout(std::time::Duration::from_secs(60))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: the boot of in/node.yaml failed:\n{}{}",
                case.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for (root, files) in [(sysfs.path(), &before.sysfs), (target.path(), &before.target)] {
            for (rel, content) in files {
                let path = root.join(rel);
                match content {
                    Some(text) => {
                        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                        std::fs::write(&path, text)
                    }
                    None => std::fs::remove_file(&path),
                }
                .unwrap_or_else(|e| panic!("{}: in/node.yaml: {}: {e}", case.display(), path.display()));
            }
        }
        Node { sysfs, target }
    }
}

/// The command line of `command` for a case: the paths each command takes,
/// then the case's `in/args`.
fn command_line(command: &str, case: &Path, node: &Node) -> Vec<OsString> {
    let (sysfs, target) = (node.sysfs.path().into(), node.target.path().into());
    let config = case.join("in/config.yaml").into();
    let mut line: Vec<OsString> = match command {
        "apply" | "plan" => vec![
            command.into(),
            "--config".into(),
            config,
            "--sysfs".into(),
            sysfs,
            "--target".into(),
            target,
        ],
        "remove" => vec![command.into(), "--target".into(), target],
        "verify" => vec![command.into(), "--sysfs".into(), sysfs, "--target".into(), target],
        other => panic!("no in/out cases for `{other}`"),
    };
    match std::fs::read_to_string(case.join("in/args")) {
        Ok(args) => line.extend(args.split_whitespace().map(OsString::from)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("{}: {e}", case.join("in/args").display()),
    }
    line
}

/// One case run: the node as the command left it, and what it printed.
pub(crate) struct Run {
    pub case: PathBuf,
    pub node: Node,
    pub output: std::process::Output,
    /// The sysfs and the target before the command ran ([`snapshot`]).
    pub sysfs_before: Vec<(PathBuf, Vec<u8>)>,
    pub target_before: Vec<(PathBuf, Vec<u8>)>,
}

impl Run {
    /// The files of the target now (no directories: git keeps none), as
    /// `out/<path>`, but `skip`.
    pub(crate) fn target_files(&self, skip: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
        snapshot(self.node.target.path())
            .into_iter()
            .filter(|(p, _)| !p.as_os_str().to_string_lossy().ends_with('/'))
            .filter(|(p, _)| !skip.iter().any(|s| p == Path::new(s)))
            .map(|(p, b)| (Path::new("out").join(p), b))
            .collect()
    }

    /// Neither the sysfs nor the target changed, byte for byte.
    pub(crate) fn assert_nothing_written(&self) {
        let name = self.case.display();
        assert!(
            snapshot(self.node.target.path()) == self.target_before,
            "{name}: the command wrote into the target"
        );
        assert!(
            snapshot(self.node.sysfs.path()) == self.sysfs_before,
            "{name}: the command wrote into the sysfs"
        );
    }
}

/// Run every case of `command`: prepare its node, run the binary, let
/// `check` assert what is particular to the command and return the
/// expected files it produces beyond the output (`out/…`), then compare
/// with the case's expected files (or bless them). Fails with every
/// difference of every case at once.
pub(crate) fn run_all(command: &str, at_least: usize, check: impl Fn(&Run) -> Vec<(PathBuf, Vec<u8>)>) {
    let cases = list(command);
    assert!(
        cases.len() >= at_least,
        "{} cases under tests/cases/{command}, {at_least} expected",
        cases.len()
    );
    let bless = bless();
    let program_len = std::fs::metadata(assert_cmd::cargo::cargo_bin("harvester-sriov"))
        .unwrap()
        .len();
    let mut rewritten = Vec::new();
    let mut failures = String::new();
    for case in cases {
        let node = Node::prepare(&case);
        let (sysfs_before, target_before) = (snapshot(node.sysfs.path()), snapshot(node.target.path()));
        let output = bin()
            .args(command_line(command, &case, &node))
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let run = Run {
            case,
            node,
            output,
            sysfs_before,
            target_before,
        };
        let mut got = check(&run);
        let paths = [
            (run.node.target.path(), "[TARGET]"),
            (run.node.sysfs.path(), "[SYSFS]"),
            (run.case.as_path(), "[CASE]"),
        ];
        got.push((
            PathBuf::from("out.stdout"),
            binary_size(normalise(&run.output.stdout, &paths), program_len),
        ));
        got.push((
            PathBuf::from("out.stderr"),
            binary_size(normalise(&run.output.stderr, &paths), program_len),
        ));
        let status = match run.output.status.code() {
            Some(code) => format!("{code}\n"),
            None => format!("{}\n", run.output.status),
        };
        got.push((PathBuf::from("out.status"), status.into_bytes()));
        got.sort();
        match check_or_bless(&run.case, &got, bless) {
            Ok(files) => rewritten.extend(files.into_iter().map(|f| run.case.join(f))),
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

/// Every directory under tests/cases is a command's, and each command has
/// at least 3 cases.
#[test]
fn tests_cases_holds_only_cases_of_the_known_commands() {
    let mut commands: Vec<String> = std::fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    commands.sort();
    assert_eq!(commands, COMMANDS);
    for command in COMMANDS {
        assert!(
            list(command).len() >= 3,
            "tests/cases/{command}: {:?}",
            list(command)
        );
    }
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

/// `in/node.yaml` is read strictly: a misspelt key or a path that leaves
/// its root fails naming the file and the field.
#[test]
fn a_malformed_node_file_names_the_field() {
    let case = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(case.path().join("in")).unwrap();
    let file = case.path().join("in/node.yaml");
    for (text, want) in [
        ("aply: config.yaml\n", "unknown field `aply`"),
        ("boot: yes please\n", "boot: invalid type"),
        (
            "apply: ../config.yaml\n",
            "apply: \"../config.yaml\" is not the name of a file in in/",
        ),
        (
            "sysfs:\n  ../x: \"1\"\n",
            "sysfs: \"../x\" is not a relative path",
        ),
        (
            "target:\n  /etc/x: \"1\"\n",
            "target: \"/etc/x\" is not a relative path",
        ),
        ("target:\n  etc/x: [1]\n", "target.etc/x: invalid type"),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = Before::read(case.path())
            .err()
            .unwrap_or_else(|| panic!("accepted {text:?}"));
        assert!(
            err.starts_with(&file.display().to_string()) && err.contains(want),
            "want {want:?}, got {err:?}"
        );
    }
}
