//! A new harvester-sriov on a node installed by an older one, and an older
//! one on a node a newer one installed (issue 17 item 4): the state of the
//! landed release is read, a future state is refused with the version it
//! needs, and `apply` swaps the binary on `/oem` in one rename with one
//! spare copy of space; a renamed PF keeps its plan and the hand-off follows it (item 1).
//! (`remove` needs no state: tests/integration/apply.rs.)

use std::path::{Path, PathBuf};

use crate::support::{apply, bin, repo, sample_sysfs, snapshot};

/// `state.json` as harvester-sriov 0.1.0 (commit f4a0e27) wrote it for the
/// shipped sample (tests/fixtures/README.md says how it was made).
fn landed_state() -> PathBuf {
    repo().join("tests/fixtures/state/v1-0.1.0-create-single-node.json")
}

/// `state.json` as harvester-sriov 0.2.0 (commit 30e357c) wrote it for the
/// same sample: state version 2, no per-VF settings.
fn landed_v2_state() -> PathBuf {
    repo().join("tests/fixtures/state/v2-0.2.0-create-single-node.json")
}

fn sample_config() -> PathBuf {
    repo().join("config-samples/create-single-node.yaml")
}

/// A target where this binary applied the sample config, and the state it wrote.
fn applied() -> (tempfile::TempDir, PathBuf) {
    let (target, state, _) = applied_saying();
    (target, state)
}

/// [`applied`], and what `apply` said on stderr (its warnings and notes).
fn applied_saying() -> (tempfile::TempDir, PathBuf, String) {
    let target = tempfile::tempdir().unwrap();
    let out = apply(&sample_config(), &sample_sysfs(), target.path());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    let state = target.path().join("oem/harvester-sriov/state.json");
    (target, state, stderr)
}

fn run(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = bin()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// `boot --target TARGET --sysfs SYSFS --wait WAIT` (and `--state STATE` when given).
fn boot_on(target: &Path, sysfs: &Path, wait: &str, state: Option<&Path>) -> (i32, String, String) {
    let mut args = vec![os("boot"), os("--target"), target.as_os_str()];
    if let Some(state) = state {
        args.extend([os("--state"), state.as_os_str()]);
    }
    args.extend([os("--sysfs"), sysfs.as_os_str(), os("--wait"), os(wait)]);
    run(&args)
}

/// An install config with `text`, and a node with one igb PF named `interface`.
fn config_and_igb(text: &str, interface: &'static str) -> (tempfile::NamedTempFile, tempfile::TempDir) {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), text).unwrap();
    let sysfs = crate::support::tree::Tree::new()
        .function(crate::support::hardware::igb("0000:01:00.0", interface, "52:54:00:12:34:01").function())
        .build();
    (config, sysfs)
}

#[test]
fn the_landed_releases_states_say_the_same_as_this_ones() {
    let (target, state) = applied();
    let written = std::fs::read_to_string(&state).unwrap();
    assert!(
        written.starts_with(&format!(
            "{{\n  \"version\": 3,\n  \"written_by\": \"{}\",\n  \"node\": ",
            env!("CARGO_PKG_VERSION")
        )),
        "{written}"
    );
    let from_new = run(&[os("handoff"), os("--state"), state.as_os_str()]);
    for (landed, version, writer) in [(landed_state(), 1, "0.1.0"), (landed_v2_state(), 2, "0.2.0")] {
        let text = std::fs::read_to_string(&landed).unwrap();
        assert!(
            text.starts_with(&format!("{{\n  \"version\": {version},\n")),
            "{text}"
        );
        // The hand-off from the landed state is the one from this binary's state.
        let from_landed = run(&[os("handoff"), os("--state"), landed.as_os_str()]);
        assert_eq!(from_landed.0, 0, "{}", from_landed.2);
        assert_eq!(from_landed, from_new);
        assert!(
            from_landed.1.contains("kind: \"SriovNetworkNodePolicy\""),
            "{}",
            from_landed.1
        );
        // verify reads it and names the one file that differs, and why.
        let (code, stdout, stderr) = run(&[
            os("verify"),
            os("--state"),
            landed.as_os_str(),
            os("--sysfs"),
            sample_sysfs().as_os_str(),
            os("--target"),
            target.path().as_os_str(),
        ]);
        assert_eq!(stderr, "");
        assert_eq!(code, 1, "{stdout}");
        let state_line = format!(
            "{}: state version {version}, written by harvester-sriov {writer}: run `apply` (or `configure`) again to rewrite it as version 3",
            state.display()
        );
        assert!(stdout.contains(&state_line), "{stdout}");
        assert!(!stdout.contains("edited by hand"), "{stdout}");
    }
}

/// The landed state as a future version wrote it.
fn future_state(dir: &Path, written_by: &str) -> PathBuf {
    let text = std::fs::read_to_string(landed_state()).unwrap().replacen(
        "\"version\": 1,",
        &format!("\"version\": 4,\n  \"written_by\": {written_by},"),
        1,
    );
    let file = dir.join("state.json");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_future_state_is_refused_with_the_version_it_needs_and_nothing_changes() {
    let this = env!("CARGO_PKG_VERSION");
    let (target, installed) = applied();
    let state = future_state(&target.path().join("oem/harvester-sriov"), "\"9.4.1\"");
    assert_eq!(state, installed);
    let sysfs = tempfile::tempdir().unwrap();
    crate::support::copy_tree(&sample_sysfs(), &sysfs.path().join("sys"));
    let sys = sysfs.path().join("sys");
    let before = (snapshot(target.path()), snapshot(&sys));
    let expected = format!(
        "harvester-sriov: error: {}: state version 4, written by harvester-sriov 9.4.1; this is harvester-sriov {this}, which reads state versions 1 to 3: install harvester-sriov 9.4.1 or newer\n",
        state.display()
    );
    let t = target.path().as_os_str();
    for args in [
        vec![
            os("boot"),
            os("--state"),
            state.as_os_str(),
            os("--sysfs"),
            sys.as_os_str(),
            os("--wait"),
            os("0"),
        ],
        vec![os("verify"), os("--target"), t, os("--sysfs"), sys.as_os_str()],
        vec![os("handoff"), os("--target"), t],
        // an older apply does not downgrade the node either
        vec![
            os("apply"),
            os("--config"),
            sample_config().as_os_str(),
            os("--sysfs"),
            sys.as_os_str(),
            os("--target"),
            t,
        ],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (2, "", expected.as_str()),
            "{args:?}"
        );
    }
    assert!(
        before == (snapshot(target.path()), snapshot(&sys)),
        "something changed"
    );
    // A writer version that is no version is not repeated.
    let odd = future_state(&target.path().join("oem/harvester-sriov"), "\"\\u001b[2J\"");
    let (code, _, stderr) = run(&[os("handoff"), os("--state"), odd.as_os_str()]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "harvester-sriov: error: {}: state version 4, written by a newer harvester-sriov; this is harvester-sriov {this}, which reads state versions 1 to 3: install the harvester-sriov that wrote it or newer\n",
            odd.display()
        )
    );
}

/// Round `bytes` up to tmpfs pages.
fn pages(bytes: u64) -> u64 {
    bytes.div_ceil(4096) * 4096
}

/// Run `apply` of the sample with `/oem` on a tmpfs of `size` bytes that
/// starts with the files in `oem` (inside a user and mount namespace, so no
/// privilege is needed); returns (exit code, stderr, the /oem files after).
fn apply_on_small_oem(oem: &Path, size: u64) -> (i32, String, Vec<(PathBuf, Vec<u8>)>) {
    let root = tempfile::tempdir().unwrap();
    let after = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("oem")).unwrap();
    // fixed script text; every path is an argument
    let script = r#"set -e
mount -t tmpfs -o size="$1" tmpfs "$2/oem"
cp -a "$3/." "$2/oem/"
set +e
"$4" apply --config "$5" --sysfs "$6" --target "$2" >/dev/null 2>"$7/stderr"
echo $? > "$7/rc"
cp -a "$2/oem" "$7/oem"
"#;
    let status = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"])
        .arg(size.to_string())
        .arg(root.path())
        .arg(oem)
        .arg(assert_cmd::cargo::cargo_bin("harvester-sriov"))
        .arg(sample_config())
        .arg(sample_sysfs())
        .arg(after.path())
        .status()
        .unwrap();
    assert!(status.success(), "unshare: {status}");
    let rc = std::fs::read_to_string(after.path().join("rc")).unwrap();
    let stderr = std::fs::read_to_string(after.path().join("stderr")).unwrap();
    (
        rc.trim().parse().unwrap(),
        stderr,
        snapshot(&after.path().join("oem")),
    )
}

#[test]
fn apply_swaps_the_binary_on_oem_in_one_rename_with_one_spare_copy_of_space() {
    // The node as an older harvester-sriov left it: the same files, another binary.
    let (target, _, said) = applied_saying();
    let oem = target.path().join("oem");
    let binary = oem.join("harvester-sriov/harvester-sriov");
    let new = std::fs::read(&binary).unwrap();
    let mut old = new.clone();
    *old.last_mut().unwrap() ^= 0xff;
    std::fs::write(&binary, &old).unwrap();
    let before = snapshot(&oem);
    let used: u64 = before.iter().map(|(_, b)| pages(b.len() as u64)).sum();
    let spare = pages(new.len() as u64);

    // One spare copy of the binary (and 16 pages for the small files' temps) is enough ...
    let (code, stderr, after) = apply_on_small_oem(&oem, used + spare + 16 * 4096);
    assert_eq!((code, stderr.as_str()), (0, said.as_str()));
    let mut expected = before.clone();
    for (path, bytes) in &mut expected {
        if path == Path::new("harvester-sriov/harvester-sriov") {
            *bytes = new.clone();
        }
    }
    // ... and leaves exactly the new binary, no temp or backup beside it.
    assert!(
        after == expected,
        "{:?}",
        after.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );

    // Without room for one copy, apply fails and the old binary is still there, whole.
    let (code, stderr, after) = apply_on_small_oem(&oem, used + spare - 16 * 4096);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with(&said), "{stderr}");
    assert!(
        stderr[said.len()..].starts_with("harvester-sriov: error: "),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(after == before, "the /oem files changed on a failed apply");
}

/// Issue 17 item 1: the PF is renamed between two boots (Harvester v1.6 -> v1.7 renamed Intel
/// ports `ens1f0` -> `ens1f0np0`). Its identity decides, never its name: `boot` finds it, says
/// what was renamed, and rewrites the state and the hand-off for the new name before rke2
/// starts — with pcidevices the node's SRIOVNetworkDevice is the one the agent generates for
/// the new name, with the planned count (handed over once: the stamp sees new content), and no
/// object of the old name is left in the manifests; with sriov-network-operator the policy
/// selects `pfNames: [ens1f0np0]`. The per-VF settings (stable MACs) are unchanged; a second
/// boot changes nothing; `verify` passes on the renamed node.
#[test]
fn a_renamed_pf_keeps_its_plan_and_the_hand_off_follows_the_new_name() {
    use crate::support::hardware::igb;
    use crate::support::tree::Tree;
    for (operator, object) in [
        ("pcidevices", "name: \"node-r-ens1f0np0\""),
        ("sriov-network-operator", "\"ens1f0np0\""),
    ] {
        let (config, before) = config_and_igb(
            &format!(
                "os:\n  hostname: node-r\nsriov:\n  enabled: true\n  num_vfs: 4\n  operator: {operator}\n  device_type: netdevice\n  vfs:\n    - {{mac_address: stable}}\n"
            ),
            "ens1f0",
        );
        let target = tempfile::tempdir().unwrap();
        let out = apply(config.path(), before.path(), target.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let state_file = target.path().join("oem/harvester-sriov/state.json");
        let old: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
        let after = Tree::new()
            .function(igb("0000:01:00.0", "ens1f0np0", "52:54:00:12:34:01").function())
            .build();
        let t = target.path().as_os_str();
        let boot = |sysfs: &Path| boot_on(target.path(), sysfs, "0", None);
        // Before `boot` runs on the renamed node, `verify` says that the hand-off names the old
        // interface (it used to pass: the rename was no difference to it).
        let verify = |sysfs: &Path| run(&[os("verify"), os("--target"), t, os("--sysfs"), sysfs.as_os_str()]);
        let (code, stdout, _) = verify(after.path());
        assert_eq!(code, 1, "{operator}: {stdout}");
        assert!(
            stdout.contains("  0000:01:00.0 (ens1f0): named ens1f0np0 now: the state and the hand-off still say 0000:01:00.0 (ens1f0); `harvester-sriov boot` (at every boot) rewrites them\n"),
            "{operator}: {stdout}"
        );
        // `boot` with the state given elsewhere (`--state`) rewrites nothing, and its line
        // names the object the node's hand-off really holds: the old name's.
        let elsewhere = tempfile::NamedTempFile::new().unwrap();
        std::fs::copy(&state_file, elsewhere.path()).unwrap();
        let snap = snapshot(target.path());
        let (code, stdout, _) = boot_on(target.path(), after.path(), "0", Some(elsewhere.path()));
        assert_eq!(code, 0, "{operator}: {stdout}");
        assert!(stdout.contains("not rewritten\n"), "{operator}: {stdout}");
        assert!(
            snap == snapshot(target.path()),
            "{operator}: --state elsewhere changed the target"
        );
        if operator == "pcidevices" {
            assert!(
                stdout.contains("(SRIOVNetworkDevice node-r-ens1f0, 4 in the hand-off)"),
                "{operator}: {stdout}"
            );
        }
        let (code, stdout, stderr) = boot(after.path());
        assert_eq!((code, stderr.as_str()), (0, ""), "{operator}: {stdout}");
        assert!(
            stdout.contains("harvester-sriov boot: 8086:10c9 renamed from ens1f0 to ens1f0np0 (same MAC): rewrote the state and the hand-off for it, before rke2 starts\n"),
            "{operator}: {stdout}"
        );
        // rke2 applies the rewritten file on a server only: an agent (join) node is told what
        // to run, or its renamed PF gets no count (the cluster model's join-node story).
        assert!(
            stdout.contains("harvester-sriov boot: rke2 applies the rewritten hand-off on a server node only: on a join (agent) node run `/oem/harvester-sriov/harvester-sriov handoff | kubectl apply -f -` with cluster access, or the renamed PF gets no count\n"),
            "{operator}: {stdout}"
        );
        if operator == "pcidevices" {
            assert!(
                stdout.contains("(SRIOVNetworkDevice node-r-ens1f0np0, 4 in the hand-off)"),
                "{operator}: {stdout}"
            );
        }
        let new: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
        assert_eq!(new["pfs"][0]["interface"], "ens1f0np0");
        // Identity, count and per-VF settings (the stable MACs) as they were.
        for key in [
            "address",
            "vendor_id",
            "device_id",
            "mac",
            "serial",
            "num_vfs",
            "vfs",
        ] {
            assert_eq!(new["pfs"][0][key], old["pfs"][0][key], "{operator}: {key}");
        }
        let manifests = target.path().join("var/lib/rancher/rke2/server/manifests");
        let texts: Vec<String> = std::fs::read_dir(&manifests)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert!(texts.iter().any(|t| t.contains(object)), "{operator}: {texts:#?}");
        assert!(
            !texts
                .iter()
                .any(|t| t.contains("ens1f0\"") || t.contains("ens1f0-")),
            "{operator}: an object of the old name stays: {texts:#?}"
        );
        if operator == "pcidevices" {
            assert!(texts.iter().any(|t| t.contains("numVFs: 4")), "{texts:#?}");
        }
        // A second boot: nothing renamed, nothing rewritten.
        let snap = snapshot(target.path());
        let (code, stdout, _) = boot(after.path());
        assert_eq!(code, 0, "{stdout}");
        assert!(!stdout.contains("renamed"), "{operator}: {stdout}");
        assert!(
            snap == snapshot(target.path()),
            "{operator}: the second boot changed the target"
        );
        // verify: no file of the node differs from the rewritten plan (the fake tree has no VF
        // functions, which verify reports on its own lines).
        let (_, stdout, stderr) = run(&[
            os("verify"),
            os("--target"),
            t,
            os("--sysfs"),
            after.path().as_os_str(),
        ]);
        assert_eq!(stderr, "", "{operator}");
        assert!(
            !stdout.contains("state.json") && !stdout.contains("manifests"),
            "{operator}: {stdout}"
        );
    }
}

/// Issue 17 item 3, found by the systemd guest's two boots (tests/e2e/README.md, "The upgrade
/// boots"): `boot` read the PF's name before udev had renamed it, and followed nothing (the
/// hand-off kept the old name). On a real boot, in this order: the kernel links the PF's driver
/// before the driver's probe runs; the probe registers the interface (`ens1f0`) near its end;
/// udev writes its database entry with `ID_RENAMING=1`, renames the interface (a `.link` file,
/// v1.7's naming) and, once it has processed the rename, drops `ID_RENAMING`. Now `boot` waits
/// (within `--wait`) for all of it where udev runs (`run/udev/control` in the target), then
/// follows the name the PF has. When udev never gets to it, `boot` says so and goes on.
#[test]
fn boot_waits_for_the_pfs_interface_and_udevs_name_before_it_follows_a_rename() {
    use crate::support::hardware::{Nic, igb};
    use crate::support::tree::Tree;
    use std::time::{Duration, Instant};
    let (config, before) = config_and_igb(
        "os:\n  hostname: node-u\nsriov:\n  enabled: true\n  num_vfs: 2\n  operator: pcidevices\n",
        "ens1f0",
    );
    let target = tempfile::tempdir().unwrap();
    let out = apply(config.path(), before.path(), target.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The new image's first boot: igb is bound (its probe is running), no interface yet; udev
    // runs (its control socket).
    let sysfs = Tree::new()
        .function(
            Nic {
                ifname: None,
                ..igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01")
            }
            .function(),
        )
        .build();
    let udev = target.path().join("run/udev");
    std::fs::create_dir_all(udev.join("data")).unwrap();
    std::fs::write(udev.join("control"), "").unwrap();
    let net = sysfs.path().join("devices/pci0000:00/0000:01:00.0/net");
    let kernel_and_udev = {
        let (net, entry) = (net.clone(), udev.join("data/n2"));
        std::thread::spawn(move || {
            let at = |ms: u64| std::thread::sleep(Duration::from_millis(ms));
            at(600); // the probe registers ens1f0 (interface index 2)
            std::fs::create_dir_all(net.join("ens1f0")).unwrap();
            std::fs::write(net.join("ens1f0/address"), "52:54:00:12:34:01\n").unwrap();
            std::fs::write(net.join("ens1f0/ifindex"), "2\n").unwrap();
            at(400); // udev's entry, written before it renames
            std::fs::write(&entry, "E:ID_RENAMING=1\nE:ID_PROCESSING=1\n").unwrap();
            at(400); // the rename; the add event's entry still says renaming
            std::fs::rename(net.join("ens1f0"), net.join("ens1f0np0")).unwrap();
            std::fs::write(&entry, "I:1000\nE:ID_NET_NAME=ens1f0np0\nE:ID_RENAMING=1\n").unwrap();
            at(400); // the move event: processed
            std::fs::write(&entry, "I:1000\nE:ID_NET_NAME=ens1f0np0\n").unwrap();
        })
    };
    let boot = |wait: &str| boot_on(target.path(), sysfs.path(), wait, None);
    let started = Instant::now();
    let (code, stdout, stderr) = boot("20");
    let took = started.elapsed();
    kernel_and_udev.join().unwrap();
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
    assert!(
        stdout.contains("harvester-sriov boot: 8086:10c9 renamed from ens1f0 to ens1f0np0 (same MAC): rewrote the state and the hand-off for it, before rke2 starts\n"),
        "boot did not wait for the interface and udev's name ({took:?}):\n{stdout}"
    );
    assert!(took >= Duration::from_millis(1800), "{took:?}");
    assert!(!stdout.contains("after 20s"), "{stdout}");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(target.path().join("oem/harvester-sriov/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["pfs"][0]["interface"], "ens1f0np0");
    let manifest = std::fs::read_to_string(
        target
            .path()
            .join("var/lib/rancher/rke2/server/manifests/harvester-sriov-node-node-u.yaml"),
    )
    .unwrap();
    assert!(manifest.contains("  name: \"node-u-ens1f0np0\"\n"), "{manifest}");

    // udev never gets to it (index 3 has no entry): the wait ends at --wait, and boot says that
    // the name may still change.
    std::fs::rename(net.join("ens1f0np0"), net.join("eth7")).unwrap();
    std::fs::write(net.join("eth7/ifindex"), "3\n").unwrap();
    let started = Instant::now();
    let (code, stdout, stderr) = boot("1");
    assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        stdout.contains("harvester-sriov boot: 0000:01:00.0 (ens1f0np0): udev has not named eth7 after 1s: the hand-off follows the name it has now, which may still change\n"),
        "{stdout}"
    );
    assert!(stdout.contains("renamed from ens1f0np0 to eth7"), "{stdout}");
    // Where udev does not run, nothing of it is waited for.
    std::fs::remove_file(udev.join("control")).unwrap();
    let (code, stdout, _) = boot("20");
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("udev"), "{stdout}");
}

/// Issue 17 item 5: told, not guessed. The first boot records the OS version (os-release's
/// PRETTY_NAME); the first boot on another one (an upgrade replaced the image) runs the same
/// checks as `verify` and says the result in one line; the boot after that says nothing of it.
/// A `remove` takes the record out; an `apply` keeps it (it is the node's, not the plan's).
#[test]
fn the_first_boot_on_a_new_os_version_runs_verify_and_says_so_in_one_line() {
    let (config, sysfs) = config_and_igb(
        "os:\n  hostname: node-o\nsriov:\n  enabled: true\n  num_vfs: 2\n  operator: none\n  device_type: netdevice\n",
        "ens1f0",
    );
    let target = tempfile::tempdir().unwrap();
    let os_release = target.path().join("etc/os-release");
    std::fs::create_dir_all(os_release.parent().unwrap()).unwrap();
    std::fs::write(
        &os_release,
        "NAME=\"Harvester\"\nPRETTY_NAME=\"Harvester v1.6.1\"\nVERSION_ID=\"v1.6.1\"\n",
    )
    .unwrap();
    assert!(apply(config.path(), sysfs.path(), target.path()).status.success());
    let t = target.path().as_os_str();
    let boot = || {
        let (code, stdout, stderr) = boot_on(target.path(), sysfs.path(), "0", None);
        assert_eq!((code, stderr.as_str()), (0, ""), "{stdout}");
        stdout
    };
    let os_lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("running on") || l.contains("first boot on"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        os_lines(&boot()),
        [
            "harvester-sriov boot: running on Harvester v1.6.1: recorded; the first boot on another OS version runs verify's checks"
        ]
    );
    assert!(os_lines(&boot()).is_empty());
    std::fs::write(
        &os_release,
        "NAME=\"Harvester\"\nPRETTY_NAME=\"Harvester v1.7.0\"\nVERSION_ID=\"v1.7.0\"\n",
    )
    .unwrap();
    assert_eq!(
        os_lines(&boot()),
        [
            "harvester-sriov boot: first boot on Harvester v1.7.0 (was Harvester v1.6.1): verify: node node-o as planned: 1 PFs, 2 VFs by sriov_numvfs, of which 0 found as PCI functions (their drivers checked: netdevice), 3 files"
        ]
    );
    assert!(os_lines(&boot()).is_empty());
    let seen = target.path().join("oem/harvester-sriov/os-release.seen");
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        "# Generated by harvester-sriov. The OS version (os-release PRETTY_NAME) harvester-sriov boot last ran on.\nHarvester v1.7.0\n"
    );
    // apply keeps it; remove takes it out.
    assert!(apply(config.path(), sysfs.path(), target.path()).status.success());
    assert!(seen.exists());
    let (code, _, stderr) = run(&[os("remove"), os("--target"), t]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!seen.exists());
}
