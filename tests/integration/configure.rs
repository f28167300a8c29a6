//! `configure`: the real binary driven in a pseudo-terminal (rexpect), as a
//! person at the installer console would, plus the no-terminal refusal.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::str::contains;
use rexpect::process::WaitStatus;
use rexpect::session::PtySession;

use crate::support::repo;

const BIN: &str = env!("CARGO_BIN_EXE_harvester-sriov");
const ENTER: &str = "\r";
const ESC: &str = "\x1b";
const DOWN: &str = "\x1b[B";

fn sysfs() -> PathBuf {
    repo().join("samples/sysfs/qemu-igb-2vfs")
}

fn spawn(args: &[&std::ffi::OsStr]) -> PtySession {
    let mut c = StdCommand::new(BIN);
    c.arg("configure").arg("--sysfs").arg(sysfs()).args(args);
    c.env("NO_COLOR", "1").env("TERM", "xterm");
    rexpect::session::spawn_command(c, Some(20_000)).unwrap()
}

fn key(p: &mut PtySession, k: &str) {
    p.send(k).unwrap();
    p.flush().unwrap();
}

fn exit_code(p: &mut PtySession) -> i32 {
    p.exp_eof().unwrap();
    match p.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("not a normal exit: {other:?}"),
    }
}

/// Every file under `root` with its bytes, by relative path.
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = vec![];
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

#[test]
fn happy_path_then_saved_answers_give_identical_files() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("t1")).unwrap();
    std::fs::create_dir(d.path().join("t2")).unwrap();
    let (t1, t2, save) = (
        d.path().join("t1"),
        d.path().join("t2"),
        d.path().join("answers.yaml"),
    );
    let mut p = spawn(&[
        "--target".as_ref(),
        t1.as_os_str(),
        "--save".as_ref(),
        save.as_os_str(),
    ]);
    p.exp_string("SR-IOV capable NICs on this node:").unwrap();
    p.exp_string("eth0").unwrap();
    p.exp_string("Enable SR-IOV on this node? [y/N]").unwrap();
    key(&mut p, "y");
    key(&mut p, ENTER);
    p.exp_string("NICs to get VFs").unwrap();
    key(&mut p, ENTER);
    p.exp_string("VFs on eth0 (0000:01:00.0), 1-7 [7]").unwrap();
    key(&mut p, "\x7f3");
    key(&mut p, ENTER);
    p.exp_string("Device type of the VFs").unwrap();
    key(&mut p, DOWN);
    key(&mut p, ENTER);
    p.exp_string("Hand the VFs over to").unwrap();
    // pcidevices, the default
    key(&mut p, ENTER);
    p.exp_string("3 of 7 VFs").unwrap();
    p.exp_string("Write these files into").unwrap();
    key(&mut p, ENTER);
    // pcidevices: the tool writes no count (issue 16 item 7)
    p.exp_string("the VFs: with operator pcidevices this tool writes no VF count; the pcidevices agent does")
        .unwrap();
    p.exp_string("answers saved to").unwrap();
    assert_eq!(exit_code(&mut p), 0);

    let state = std::fs::read_to_string(t1.join("oem/harvester-sriov/state.json")).unwrap();
    assert!(state.contains("\"num_vfs\": 3"), "{state}");
    // the node keeps its own answers, not as *.yaml (yip would load it)
    let kept = std::fs::read(t1.join("oem/harvester-sriov/answers.conf")).unwrap();
    assert_eq!(kept, std::fs::read(&save).unwrap());
    std::fs::remove_file(t1.join("oem/harvester-sriov/answers.conf")).unwrap();
    assert!(
        state.contains("\"netdevice\"") && state.contains("\"pcidevices\""),
        "{state}"
    );

    // The saved answers through `apply --config` yield the identical files.
    Command::new(BIN)
        .arg("apply")
        .arg("--config")
        .arg(&save)
        .arg("--sysfs")
        .arg(sysfs())
        .arg("--target")
        .arg(&t2)
        .assert()
        .code(0);
    let (a, b) = (files(&t1), files(&t2));
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(a == b, "the files differ");
}

#[test]
fn all_defaults_after_yes() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t");
    std::fs::create_dir(&t).unwrap();
    let mut p = spawn(&["--target".as_ref(), t.as_os_str()]);
    p.exp_string("Enable SR-IOV on this node?").unwrap();
    key(&mut p, "y");
    key(&mut p, ENTER);
    for q in [
        "NICs to get VFs",
        "VFs on eth0",
        "Device type of the VFs",
        "Hand the VFs over to",
        "Write these files into",
    ] {
        p.exp_string(q).unwrap();
        key(&mut p, ENTER);
    }
    p.exp_string("wrote").unwrap();
    // the default hand-off, pcidevices: the tool writes no count (issue 16 item 7)
    let last = p
        .exp_string("the VFs: with operator pcidevices this tool writes no VF count")
        .unwrap();
    assert!(!last.contains("writes each planned count"), "{last}");
    assert_eq!(exit_code(&mut p), 0);
    let state = std::fs::read_to_string(t.join("oem/harvester-sriov/state.json")).unwrap();
    assert!(state.contains("\"num_vfs\": 7"), "{state}");
    assert!(state.contains("\"vfio-pci\"") && state.contains("\"sriov-network-operator\""));
}

#[test]
fn refused_vf_count_is_asked_again() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t");
    std::fs::create_dir(&t).unwrap();
    let mut p = spawn(&["--target".as_ref(), t.as_os_str(), "--dry-run".as_ref()]);
    p.exp_string("Enable SR-IOV on this node?").unwrap();
    key(&mut p, "y");
    key(&mut p, ENTER);
    p.exp_string("NICs to get VFs").unwrap();
    key(&mut p, ENTER);
    p.exp_string("VFs on eth0").unwrap();
    key(&mut p, "\x7f99");
    key(&mut p, ENTER);
    p.exp_string("enter a whole number from 1 to 7").unwrap();
    p.exp_string("VFs on eth0").unwrap();
    key(&mut p, "\x7f\x7f\x7f5");
    key(&mut p, ENTER);
    for q in ["Device type", "Hand the VFs over to"] {
        p.exp_string(q).unwrap();
        key(&mut p, ENTER);
    }
    p.exp_string("5 of 7 VFs").unwrap();
    p.exp_string("Show the files (dry run").unwrap();
    key(&mut p, ENTER);
    // the plan is shown once, before the question (issue 16 item 11)
    let between = p.exp_string("dry run: nothing written").unwrap();
    assert!(!between.contains("5 of 7 VFs"), "{between}");
    let rest = p.exp_eof().unwrap();
    assert!(!rest.contains("5 of 7 VFs"), "{rest}");
    match p.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => assert_eq!(code, 0),
        other => panic!("not a normal exit: {other:?}"),
    }
    assert!(
        std::fs::read_dir(&t).unwrap().next().is_none(),
        "dry run wrote into the target"
    );
}

#[test]
fn ctrl_c_at_the_vf_count_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (t, save) = (d.path().join("t"), d.path().join("answers.yaml"));
    let mut p = spawn(&[
        "--target".as_ref(),
        t.as_os_str(),
        "--save".as_ref(),
        save.as_os_str(),
    ]);
    p.exp_string("Enable SR-IOV on this node?").unwrap();
    key(&mut p, "y");
    key(&mut p, ENTER);
    p.exp_string("NICs to get VFs").unwrap();
    key(&mut p, ENTER);
    p.exp_string("VFs on eth0").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("cancelled, nothing written").unwrap();
    assert_eq!(exit_code(&mut p), 130);
    assert!(!t.exists() && !save.exists());
}

#[test]
fn esc_at_the_first_question_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t");
    let mut p = spawn(&["--target".as_ref(), t.as_os_str()]);
    p.exp_string("Enable SR-IOV on this node?").unwrap();
    key(&mut p, ESC);
    p.exp_string("cancelled, nothing written").unwrap();
    assert_eq!(exit_code(&mut p), 130);
    assert!(!t.exists());
}

#[test]
fn stdin_not_a_terminal_exits_2_at_once() {
    let d = tempfile::tempdir().unwrap();
    Command::new(BIN)
        .arg("configure")
        .arg("--sysfs")
        .arg(sysfs())
        .arg("--target")
        .arg(d.path().join("t"))
        .write_stdin("y\n")
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(2)
        .stderr(contains("apply --config"));
    assert!(!d.path().join("t").exists());
}

#[test]
fn ctrl_c_or_esc_in_a_list_writes_nothing() {
    for (at, k) in [("NICs to get VFs", ESC), ("Device type of the VFs", "\x03")] {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        let mut p = spawn(&["--target".as_ref(), t.as_os_str()]);
        p.exp_string("Enable SR-IOV on this node?").unwrap();
        key(&mut p, "y");
        key(&mut p, ENTER);
        if at.starts_with("Device") {
            p.exp_string("NICs to get VFs").unwrap();
            key(&mut p, ENTER);
            p.exp_string("VFs on eth0").unwrap();
            key(&mut p, ENTER);
        }
        p.exp_string(at).unwrap();
        key(&mut p, k);
        p.exp_string("cancelled, nothing written").unwrap();
        assert_eq!(exit_code(&mut p), 130, "{at}");
        assert!(!t.exists());
    }
}

/// After the first boot, on the installed node: the installer's saved config
/// (lower-cased Go key names, no `sriov:`) names the management NIC, which
/// is then not offered.
#[test]
fn on_the_installed_node_the_saved_config_names_the_management_nic() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t");
    std::fs::create_dir_all(t.join("oem")).unwrap();
    std::fs::write(
        t.join("oem/harvester.config"),
        "os:\n  hostname: node-1\ninstall:\n  mode: create\n  managementinterface:\n    interfaces:\n    - name: eth0\n      hwaddr: \"\"\n",
    )
    .unwrap();
    let mut p = spawn(&["--target".as_ref(), t.as_os_str()]);
    p.exp_string("management NIC and node name from").unwrap();
    p.exp_string("management NIC (install.management_interface): not offered")
        .unwrap();
    p.exp_string("Nothing to ask, nothing written.").unwrap();
    assert_eq!(exit_code(&mut p), 0);
    assert_eq!(files(&t).len(), 1, "only the installer's own file");
}

/// `configure --now` on a running node: the /oem files, the copies the yip
/// file would write at boot, and the VFs created right away.
#[test]
fn now_writes_what_boot_would_and_creates_the_vfs() {
    let d = tempfile::tempdir().unwrap();
    let (t, sys) = (d.path().join("t"), d.path().join("sys"));
    std::fs::create_dir(&t).unwrap();
    crate::support::copy_tree(&sysfs(), &sys);
    let mut c = StdCommand::new(BIN);
    c.args(["configure", "--now", "--sysfs"])
        .arg(&sys)
        .arg("--target")
        .arg(&t);
    c.env("NO_COLOR", "1").env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(c, Some(20_000)).unwrap();
    p.exp_string("Enable SR-IOV on this node?").unwrap();
    key(&mut p, "y");
    key(&mut p, ENTER);
    p.exp_string("NICs to get VFs").unwrap();
    key(&mut p, ENTER);
    p.exp_string("VFs on eth0").unwrap();
    key(&mut p, "\x7f3");
    key(&mut p, ENTER);
    p.exp_string("Device type of the VFs").unwrap();
    key(&mut p, DOWN); // netdevice: no vfio-pci binding on this copy of sysfs
    key(&mut p, ENTER);
    p.exp_string("Hand the VFs over to").unwrap();
    key(&mut p, DOWN); // sriov-network-operator: boot writes the count (pcidevices' controller would)
    key(&mut p, ENTER);
    p.exp_string("Write these files into").unwrap();
    key(&mut p, ENTER);
    p.exp_string("creating the VFs now").unwrap();
    p.exp_string("0000:01:00.0 (eth0): 3 VFs (was 2: wrote 0, then 3)")
        .unwrap();
    assert_eq!(exit_code(&mut p), 0);
    let names: Vec<String> = files(&t).into_iter().map(|f| f.0).collect();
    for want in [
        "etc/systemd/system/harvester-sriov.service",
        "etc/rancher/rke2/config.yaml.d/95-harvester-sriov.yaml",
        "oem/95_harvester-sriov.yaml",
        "oem/harvester-sriov/answers.conf",
        "oem/harvester-sriov/state.json",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let numvfs = sys.join("bus/pci/devices/0000:01:00.0/sriov_numvfs");
    assert_eq!(std::fs::read_to_string(numvfs).unwrap().trim(), "3");
}

/// Issue 16 item 8: `y` then Enter, typed at once as at any `[y/N]`
/// prompt, answers the first question only: the NIC selection is shown and
/// waits for its own Enter.
#[test]
fn y_then_enter_answers_only_the_first_question() {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("t");
    let mut c = StdCommand::new(BIN);
    c.arg("configure")
        .arg("--sysfs")
        .arg(sysfs())
        .arg("--target")
        .arg(&t);
    c.env("NO_COLOR", "1").env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(c, Some(3_000)).unwrap();
    p.exp_string("Enable SR-IOV on this node? [y/N]").unwrap();
    key(&mut p, "y\r");
    p.exp_string("Enable SR-IOV on this node? yes").unwrap();
    p.exp_string("NICs to get VFs").unwrap();
    assert!(
        p.exp_string("VFs on eth0").is_err(),
        "the Enter after y accepted the NIC selection"
    );
    key(&mut p, ENTER);
    p.exp_string("VFs on eth0").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("cancelled, nothing written").unwrap();
    assert_eq!(exit_code(&mut p), 130);
    assert!(!t.exists());
}

/// Issue 16 item 8: "no" says, before the last question, what is still
/// written; "no" there writes nothing, Enter writes exactly what was said.
#[test]
fn no_says_what_is_still_written_before_writing() {
    for write in [false, true] {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        std::fs::create_dir(&t).unwrap();
        let mut p = spawn(&["--target".as_ref(), t.as_os_str()]);
        p.exp_string("Enable SR-IOV on this node? [y/N]").unwrap();
        key(&mut p, "n");
        key(&mut p, ENTER);
        p.exp_string("SR-IOV stays disabled on this node.").unwrap();
        p.exp_string(
            "Writing still records this answer:\r\n  /oem/harvester-sriov/state.json\r\n  /oem/95_harvester-sriov.yaml\r\n  /oem/harvester-sriov/answers.conf\r\n(the state says SR-IOV is off: no VFs are made at boot",
        )
        .unwrap();
        p.exp_string(
            "and the yip file gives the node the label feature.node.kubernetes.io/network-sriov.capable=true",
        )
        .unwrap();
        p.exp_string("To write nothing, answer no below").unwrap();
        p.exp_string("Write these files into").unwrap();
        if write {
            key(&mut p, ENTER);
            assert_eq!(exit_code(&mut p), 0);
            let names: Vec<String> = files(&t).into_iter().map(|f| f.0).collect();
            assert_eq!(
                names,
                [
                    "oem/95_harvester-sriov.yaml",
                    "oem/harvester-sriov/answers.conf",
                    "oem/harvester-sriov/state.json"
                ]
            );
            let yip = std::fs::read_to_string(t.join("oem/95_harvester-sriov.yaml")).unwrap();
            assert!(
                yip.contains("feature.node.kubernetes.io/network-sriov.capable"),
                "{yip}"
            );
        } else {
            key(&mut p, "n");
            key(&mut p, ENTER);
            p.exp_string("cancelled, nothing written").unwrap();
            assert_eq!(exit_code(&mut p), 130);
            assert!(files(&t).is_empty());
        }
    }
}

/// Issue 16 item 11: the cancel message after Ctrl-C or Esc starts a line
/// of its own, never the end of the prompt's line.
#[test]
fn the_cancel_message_is_on_its_own_line() {
    for (at, k) in [
        ("Enable SR-IOV on this node?", ESC),
        ("Enable SR-IOV on this node?", "\x03"),
        ("VFs on eth0", "\x03"),
        ("Device type of the VFs", ESC),
    ] {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        let mut p = spawn(&["--target".as_ref(), t.as_os_str()]);
        p.exp_string("Enable SR-IOV on this node?").unwrap();
        if at != "Enable SR-IOV on this node?" {
            key(&mut p, "y");
            key(&mut p, ENTER);
            p.exp_string("NICs to get VFs").unwrap();
            key(&mut p, ENTER);
            p.exp_string("VFs on eth0").unwrap();
            if at.starts_with("Device") {
                key(&mut p, ENTER);
                p.exp_string(at).unwrap();
            }
        }
        key(&mut p, k);
        let before = p
            .exp_string("harvester-sriov configure: cancelled, nothing written")
            .unwrap();
        // what is left on the cursor's line once the escape sequences are
        // taken out (a cleared prompt leaves nothing; a cut one its text)
        let mut plain = String::new();
        let mut chars = before.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // CSI: ESC [ parameters, then one final byte in @..~
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            } else {
                plain.push(c);
            }
        }
        let line = plain.rsplit(['\r', '\n']).next().unwrap_or_default();
        assert!(
            line.is_empty(),
            "{at} {k:?}: the message follows {line:?} ({before:?})"
        );
        assert_eq!(exit_code(&mut p), 130, "{at}");
        assert!(!t.exists());
    }
}
