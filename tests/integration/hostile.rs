//! Bad input, catalogued: one row per case. Each row asserts the exit code,
//! that the one message names the file, the key and the value, and that the
//! target root is byte-identical afterwards. Sysfs rows assert the scan
//! survives and names the path.

use std::io::Write as _;
use std::path::Path;

use crate::support::hardware::{self, igb};
use crate::support::space::{Space, SriovFields};
use crate::support::tree::{Entry, Function, KernelSriov, Tree};
use crate::support::{apply, bin, snapshot};

/// (config text, what the single error line must contain)
fn config_rows() -> Vec<(String, &'static str)> {
    let s = |t: &str| t.to_owned();
    let mut deep = String::new();
    for _ in 0..5000 {
        deep.push('[');
    }
    let bomb = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\nsriov:\n  enabled: true\n";
    vec![
        (s("key: [unclosed\n"), "not valid YAML"),
        (
            s("- a\n- b\n"),
            "(top level): expected a mapping of keys (a Harvester config.yaml), got a list",
        ),
        (s("just text\n"), "(top level): expected a mapping of keys"),
        (
            s("sriov:\n  enabled: true\n  num_vfs: eight\n"),
            "sriov.num_vfs: expected a whole number from 1 to 65535, got \"eight\"",
        ),
        (
            s("sriov:\n  num_vfs: -1\n"),
            "sriov.num_vfs: expected a whole number from 1 to 65535, got -1",
        ),
        (
            s("sriov:\n  num_vfs: 1e9\n"),
            "sriov.num_vfs: expected a whole number from 1 to 65535, got 1000000000.0",
        ),
        (
            s("sriov:\n  num_vfs: true\n"),
            "sriov.num_vfs: expected a whole number from 1 to 65535, got true",
        ),
        (
            s("sriov:\n  num_vfs: 0\n"),
            "sriov.num_vfs: expected a whole number from 1 to 65535, got 0",
        ),
        (
            s("sriov:\n  num_vfs: 70000\n"),
            "sriov.num_vfs: expected a whole number from 1 to 65535, got 70000",
        ),
        (
            s("sriov:\n  num_vf: 4\n"),
            "sriov.num_vf: unknown key (did you mean `num_vfs`?)",
        ),
        (
            s("sriov:\n  enable: true\n"),
            "sriov.enable: unknown key (did you mean `enabled`?)",
        ),
        (
            s("sriov:\n  devices:\n    - match: {adress: \"0000:01:00.0\"}\n"),
            "sriov.devices[0].match.adress: unknown key (did you mean `address`?)",
        ),
        (
            s("sriov:\n  devices:\n    - match: {}\n"),
            "sriov.devices[0].match: is empty",
        ),
        (
            s("sriov:\n  devices:\n    - num_vfs: 2\n"),
            "sriov.devices[0].match: is missing",
        ),
        (
            s(
                "sriov:\n  devices:\n    - match: {interface: ens1f0}\n      num_vfs: 2\n    - match: {interface: ens1f0}\n      enabled: false\n",
            ),
            "sriov.devices[1]: conflicts with sriov.devices[0]",
        ),
        (
            s(
                "sriov:\n  devices:\n    - match: {interface: ens1f0}\n      num_vfs: 2\n      enabled: false\n",
            ),
            "sriov.devices[0]: sets num_vfs and enabled: false",
        ),
        (
            s("sriov:\n  devices: {match: x}\n"),
            "sriov.devices: expected a list of rules, got a mapping",
        ),
        (
            s("sriov:\n  resource_name: \"bad.name\"\n"),
            "sriov.resource_name: \"bad.name\" is not a valid resource name",
        ),
        (
            format!("sriov:\n  resource_name: {}\n", "r".repeat(64)),
            "is not a valid resource name",
        ),
        (
            s("sriov:\n  labels:\n    example.com/mode: yes\n"),
            "sriov.labels.example.com/mode: \"yes\" is a boolean to YAML 1.1 readers",
        ),
        (
            s("sriov:\n  labels:\n    example.com/mode: true\n"),
            "sriov.labels.example.com/mode: true is not text",
        ),
        (
            s("sriov:\n  labels:\n    node-role.kubernetes.io/worker: \"true\"\n"),
            "sriov.labels.node-role.kubernetes.io/worker: kubelet may not set",
        ),
        (
            s("sriov:\n  labels:\n    example.com/x: \"a b\"\n"),
            "sriov.labels.example.com/x: label value \"a b\" is invalid",
        ),
        (
            s("sriov:\n  device_type: vfio\n"),
            "sriov.device_type: \"vfio\" is not a device type: vfio-pci (VMs) or netdevice (did you mean `vfio-pci`?)",
        ),
        (
            s("sriov:\n  operator: sriov-operator\n"),
            "sriov.operator: \"sriov-operator\" is not an operator: sriov-network-operator, pcidevices or none (did you mean `sriov-network-operator`?)",
        ),
        (
            s("sriov-config: '{\"sriov_enabled\": true'\n"),
            "sriov-config: not valid JSON",
        ),
        (
            s("sriov:\n  operator: sriov-network-operator\n  resource_name: sriov-nics\n"),
            "sriov.resource_name: \"sriov-nics\" is refused by every released sriov-network-operator (v1.3 to v1.6 admit only ^[a-zA-Z0-9_]+$)",
        ),
        (
            s("sriov:\n  resource_name: sriov-nics\n  operatorNamespace: Sriov\n"),
            "sriov.operator_namespace: \"Sriov\" is not a valid namespace",
        ),
        (
            s("sriov:\n  operator: sriov-network-operator\n  operator_extra_nics: maybe\n"),
            "sriov.operator_extra_nics: expected true or false",
        ),
        (
            s("sriov:\n  operator: sriov-network-operator\n  network: {namespace: default}\n"),
            "sriov.network.name: is missing",
        ),
        (
            s("sriov:\n  operator: sriov-network-operator\n  network: {name: vms, vlan: 4095}\n"),
            "sriov.network.vlan: expected a whole number from 0 to 4094, got 4095",
        ),
        (
            s("sriov:\n  operator: sriov-network-operator\n  network: {name: vms.a}\n"),
            "sriov.network.name: \"vms.a\" is not a valid name",
        ),
        (
            s("sriov:\n  network: {name: vms, vlann: 3}\n"),
            "sriov.network.vlann: unknown key (did you mean `vlan`?)",
        ),
        (
            s("sriov:\n  operator: pcidevices\n  network: {name: vms}\n"),
            "sriov.network: a SriovNetwork is an object of sriov-network-operator, but sriov.operator is pcidevices",
        ),
        (
            s(
                "os:\n  additional_kernel_arguments: \"intel_iommu=off quiet\"\nsriov:\n  enabled: true\n  operator: sriov-network-operator\n",
            ),
            "os.additional_kernel_arguments: \"intel_iommu=off\" turns off what sriov-network-operator needs for vfio-pci",
        ),
        (
            s("sriov-config: '{\"sriov_enabled\": true, \"num_vfs\": 0}'\n"),
            "sriov-config.num_vfs: must be at least 1 when sriov_enabled is true",
        ),
        (
            s("sriov-config: {\"sriov_enable\": true}\n"),
            "sriov-config.sriov_enable: unknown key (did you mean `sriov_enabled`?)",
        ),
        (
            s("sriov:\n  enabled: true\nsriov-config: {\"sriov_enabled\": true, \"num_vfs\": 2}\n"),
            "sriov-config: conflicts with `sriov`",
        ),
        (
            s("sriov:\n  numVfs: 2\n  num_vfs: 3\n"),
            "sriov.num_vfs: given twice",
        ),
        (
            s("sriov:\n  mtu: 10\n"),
            "sriov.mtu: expected a whole number from 68 to 9702, got 10",
        ),
        (
            s("sriov:\n  devices:\n    - match: {address: \"zz:00.0\"}\n"),
            "sriov.devices[0].match.address: expected a PCI address like \"0000:3b:00.0\", got \"zz:00.0\"",
        ),
        (
            s("sriov:\n  devices:\n    - match: {serial: \"12-34\"}\n"),
            "sriov.devices[0].match.serial: expected a PCIe Device Serial Number",
        ),
        (
            s("sriov:\n  devices:\n    - match: {vendor: \"80866\"}\n"),
            "sriov.devices[0].match.vendor: expected a 4-digit hex PCI id like \"8086\", got \"80866\"",
        ),
        (
            s("sriov:\n  enabled: maybe\n"),
            "sriov.enabled: expected true or false, got the text \"maybe\"",
        ),
        (
            s("sriov:\n  enabled: yes\n"),
            "sriov.enabled: expected true or false, got the text \"yes\"",
        ),
        (
            s("sriov:\n  enabled: \"true\"\n"),
            "sriov.enabled: expected true or false, got the text \"true\"",
        ),
        (
            s("sriov-config: '{\"sriov_enabled\": \"yes\", \"num_vfs\": 8}'\n"),
            "sriov-config.sriov_enabled: expected true or false, got the text \"yes\"",
        ),
        (s("sriov:\n"), "sriov: is empty"),
        (
            s("os:\n  hostname: [a]\nsriov:\n  enabled: true\n"),
            "os.hostname: expected text, got a list",
        ),
        (
            s("os:\n  hostname: -bad-\nsriov:\n  enabled: true\n"),
            "os.hostname: node name \"-bad-\" is not a valid Kubernetes node name",
        ),
        (
            s("install:\n  management_interface:\n    interfaces: eth0\nsriov:\n  enabled: true\n"),
            "install.management_interface.interfaces: expected a list, got \"eth0\"",
        ),
        (
            s("sriov:\n  enabled: true\n  devices:\n    - match: {interface: ens1f0}\n      num_vfs: 8\n"),
            "sriov.devices[0].num_vfs: 8 VFs asked for 0000:01:00.0 (Intel Corporation 82576 Gigabit Network Connection), but its kernel allows at most 7",
        ),
        (
            s("sriov:\n  enabled: true\n  label_capable: false\n  operator: sriov-network-operator\n"),
            "sriov.label_capable: false does not work with operator sriov-network-operator",
        ),
        (deep, "not valid YAML"),
        (s(bomb), "not valid YAML"),
        (
            s("{sriov: {enabled: true}, 1: x}\n"),
            "(top level): expected a mapping of keys",
        ),
    ]
}

/// A target with an earlier install in it, to prove nothing changes.
fn installed_target(sysfs: &Path) -> tempfile::TempDir {
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("old.yaml");
    std::fs::write(
        &cfg,
        "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n",
    )
    .unwrap();
    assert!(apply(&cfg, sysfs, target.path()).status.success());
    target
}

fn assert_refused(what: &str, out: &std::process::Output, file: &Path, want: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: exit code; stderr: {stderr}");
    assert!(stderr.contains(want), "{what}\n  got:  {stderr}\n  want: {want}");
    assert!(
        stderr.contains(&file.display().to_string()),
        "{what}: file not named: {stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{what}: not one message: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

#[test]
fn every_bad_config_is_refused_with_its_key_and_the_target_unchanged() {
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = installed_target(sysfs.path());
    let before = snapshot(target.path());
    let dir = tempfile::tempdir().unwrap();
    let rows = config_rows();
    assert!(rows.len() >= 40, "{} rows", rows.len());
    for (i, (text, want)) in rows.iter().enumerate() {
        let config = dir.path().join(format!("row{i}.yaml"));
        std::fs::write(&config, text).unwrap();
        let out = apply(&config, sysfs.path(), target.path());
        assert_refused(&format!("row {i}: {:.60?}", text), &out, &config, want);
        assert!(snapshot(target.path()) == before, "row {i}: the target changed");
    }
}

#[test]
fn unreadable_huge_and_non_utf8_config_files() {
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = installed_target(sysfs.path());
    let before = snapshot(target.path());
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.yaml");
    let mut f = std::fs::File::create(&huge).unwrap();
    for _ in 0..(5 * 1024) {
        f.write_all(&[b'#'; 1024]).unwrap();
    }
    drop(f);
    let binary = dir.path().join("latin1.yaml");
    std::fs::write(&binary, b"sriov:\n  resource_name: caf\xe9\n").unwrap();
    let missing = dir.path().join("missing.yaml");
    let a_dir = dir.path().join("a-directory.yaml");
    std::fs::create_dir(&a_dir).unwrap();
    for (file, want) in [
        (&huge, "more than 4194304 bytes, too large for an install config"),
        (&binary, "not valid UTF-8 text (byte offset 27)"),
        (&missing, "cannot read"),
        (&a_dir, "cannot read"),
    ] {
        let out = apply(file, sysfs.path(), target.path());
        assert_refused(&file.display().to_string(), &out, file, want);
        assert!(snapshot(target.path()) == before);
    }
}

/// A FIFO at `path` fed with `#` lines by a thread until its reader goes
/// away (or 64 MiB, so a reader that never stops cannot fill the memory).
fn endless_fifo(path: &Path) -> std::thread::JoinHandle<()> {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
    let path = path.to_owned();
    std::thread::spawn(move || {
        // Blocks until the reader opens it.
        let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) else {
            return;
        };
        let line = [b'#'; 4096];
        for _ in 0..(64 * 1024 * 1024 / line.len()) {
            if f.write_all(&line).is_err() {
                return; // the reader closed it: EPIPE
            }
        }
    })
}

/// `/dev/zero` and a FIFO report a size of 0: the limit holds on the bytes
/// read, not on the metadata, so both are refused at once instead of read
/// without end. The same for the state file of `boot` and `verify`.
#[test]
fn endless_config_and_state_files_are_refused_promptly() {
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = installed_target(sysfs.path());
    let before = snapshot(target.path());
    let dir = tempfile::tempdir().unwrap();
    let zero = Path::new("/dev/zero");
    let fifo = dir.path().join("config.fifo");
    let writer = endless_fifo(&fifo);
    for file in [zero, fifo.as_path()] {
        let start = std::time::Instant::now();
        let out = bin()
            .args(["apply", "--config"])
            .arg(file)
            .arg("--sysfs")
            .arg(sysfs.path())
            .arg("--target")
            .arg(target.path())
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_refused(
            &file.display().to_string(),
            &out,
            file,
            "more than 4194304 bytes, too large for an install config",
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        assert!(snapshot(target.path()) == before);
    }
    writer.join().unwrap();
    let state_fifo = dir.path().join("state.fifo");
    let writer = endless_fifo(&state_fifo);
    for (cmd, state) in [("boot", zero), ("verify", zero), ("boot", state_fifo.as_path())] {
        let out = bin()
            .args([cmd, "--sysfs"])
            .arg(sysfs.path())
            .arg("--state")
            .arg(state)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_refused(
            &format!("{cmd} --state {}", state.display()),
            &out,
            state,
            "more than 4194304 bytes, larger than any state file",
        );
    }
    writer.join().unwrap();
}

#[test]
fn hostile_targets_are_refused_and_left_as_they_were() {
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(
        &cfg,
        "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n",
    )
    .unwrap();

    // /oem is a regular file: nothing can go under it
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("oem"), "not a dir").unwrap();
    let before = snapshot(t.path());
    let out = apply(&cfg, sysfs.path(), t.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&t.path().join("oem").display().to_string()));
    assert_eq!(snapshot(t.path()), before);

    // a symlink loop on the way
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("oem")).unwrap();
    std::os::unix::fs::symlink("loop2", t.path().join("oem/harvester-sriov")).unwrap();
    std::os::unix::fs::symlink("harvester-sriov", t.path().join("oem/loop2")).unwrap();
    let before = snapshot(t.path());
    let out = apply(&cfg, sysfs.path(), t.path());
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(snapshot(t.path()), before);

    // a directory where our file goes
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("oem/95_harvester-sriov.yaml")).unwrap();
    let before = snapshot(t.path());
    let out = apply(&cfg, sysfs.path(), t.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("95_harvester-sriov.yaml"));
    assert_eq!(snapshot(t.path()), before);

    // the target does not exist
    let out = apply(&cfg, sysfs.path(), &dir.path().join("no-such-root"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-root"));
}

#[test]
fn a_concurrent_apply_is_refused_by_the_lock() {
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let target = tempfile::tempdir().unwrap();
    let cfg = target.path().join("c.yaml");
    std::fs::write(&cfg, "os:\n  hostname: n1\nsriov:\n  enabled: true\n").unwrap();
    let held = std::fs::File::open(target.path()).unwrap();
    held.lock().unwrap();
    let before = snapshot(target.path());
    let out = apply(&cfg, sysfs.path(), target.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("another harvester-sriov run holds"), "{stderr}");
    assert_eq!(snapshot(target.path()), before);
    drop(held);
    assert!(apply(&cfg, sysfs.path(), target.path()).status.success());
}

/// Sysfs rows: (description, tree, what stderr must name). detect must not
/// panic, must exit 0/1 (never crash), and warn naming the path.
#[test]
fn hostile_sysfs_never_panics_and_names_the_path() {
    let pf = || igb("0000:01:00.0", "ens1f0", "52:54:00:12:34:01").function();
    let with = |f: Function| Tree::new().function(f);
    let sriov = SriovFields::igb();
    let chain_out = Space::pcie(0x8086, 0x10c9, 0x020000)
        .ext(0x100, 0x0001, 1, 0xffc)
        .ext(0xffc, 0x0002, 1, 0x100)
        .bytes();
    let cut_sriov = Space::pcie(0x8086, 0x10c9, 0x020000)
        .ext(0xfe0, crate::support::space::EXT_SRIOV, 1, 0)
        .bytes();
    let rows: Vec<(&str, Tree, &str)> = vec![
        (
            "garbage vendor",
            with(pf().file("vendor", "0xZZZZ\n")),
            "vendor: \"0xZZZZ\" is not a hex vendor id",
        ),
        (
            "empty vendor",
            with(pf().file("vendor", "")),
            "vendor: \"\" is not a hex vendor id",
        ),
        (
            "huge vendor",
            with(pf().file("vendor", vec![b'7'; 1 << 20])),
            "vendor: longer than 256 bytes",
        ),
        (
            "binary vendor",
            with(pf().file("vendor", vec![0xff, 0xfe])),
            "vendor: not UTF-8 text",
        ),
        (
            "totalvfs not a number",
            with(pf().file("sriov_totalvfs", "seven\n")),
            "sriov_totalvfs: \"seven\" is not a decimal count",
        ),
        (
            "numvfs negative",
            with(pf().file("sriov_numvfs", "-1\n")),
            "sriov_numvfs: \"-1\" is not a decimal count",
        ),
        (
            "vf_device garbage",
            with(pf().file("sriov_vf_device", "0x10ca0\n")),
            "sriov_vf_device: \"0x10ca0\" is not a hex device id",
        ),
        (
            "a directory as a file",
            with(pf().dir("class")),
            "class: Is a directory",
        ),
        (
            "config is a directory",
            with(pf().dir("config")),
            "config: Is a directory",
        ),
        (
            "not an address in devices/",
            with(pf()).bus_entry("garbage", Entry::File(b"x".to_vec())),
            "bus/pci/devices/garbage: not a PCI address, skipped",
        ),
        (
            "vanished function",
            with(pf()).bus_entry(
                "0000:09:00.0",
                Entry::Symlink("../../../devices/pci0000:00/gone".into()),
            ),
            "0000:09:00.0: vanished during the scan, skipped",
        ),
        (
            "symlink loop as driver",
            with(pf().symlink("driver", "driver")),
            "driver",
        ),
    ];
    for (what, tree, want) in rows {
        let dir = tree.build();
        let out = bin()
            .args(["detect", "--all", "--sysfs"])
            .arg(dir.path())
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{what}: {stderr}");
        assert!(stderr.contains(want), "{what}\n  got:  {stderr}\n  want: {want}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
    // config sizes and capability chains that end badly: no warning needed, no panic
    for (what, config) in [
        ("config 0 bytes", vec![]),
        (
            "config 63 bytes",
            Space::pcie(0x8086, 0x10c9, 0x020000).truncate(63).bytes(),
        ),
        (
            "config 65 bytes",
            Space::pcie(0x8086, 0x10c9, 0x020000).truncate(65).bytes(),
        ),
        (
            "config 255 bytes",
            Space::pcie(0x8086, 0x10c9, 0x020000).truncate(255).bytes(),
        ),
        (
            "config 4095 bytes",
            Space::pcie(0x8086, 0x10c9, 0x020000)
                .sriov(0x100, 0, sriov)
                .truncate(4095)
                .bytes(),
        ),
        ("config 8192 bytes", {
            let mut c = Space::pcie(0x8086, 0x10c9, 0x020000)
                .sriov(0x100, 0, sriov)
                .bytes();
            c.resize(8192, 0xff);
            c
        }),
        ("chain to the last dword and back", chain_out),
        ("SR-IOV cut by the end of config space", cut_sriov),
    ] {
        let f = Function::new("0000:01:00.0", config)
            .driver("igb")
            .kernel_sriov(KernelSriov::new(7, 0, 128, 2, 0x10ca));
        let dir = with(f).build();
        let out = bin()
            .args(["detect", "--format", "json", "--sysfs"])
            .arg(dir.path())
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: the kernel view still lists it: {stderr}"
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["devices"][0]["kernel"]["total_vfs"], 7, "{what}");
    }
}

/// Kill `apply` at many points while it replaces an earlier install: every
/// file is afterwards the old or the new version, never a mix, and the next
/// `apply` completes the work.
#[test]
fn apply_killed_at_any_moment_leaves_old_or_new_files_and_a_rerun_completes() {
    use std::collections::BTreeMap;
    let sysfs = hardware::case("apply/sno-vfio-sriov-operator").build();
    let work = tempfile::tempdir().unwrap();
    let old_cfg = work.path().join("old.yaml");
    let new_cfg = work.path().join("new.yaml");
    std::fs::write(
        &old_cfg,
        "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 2\n",
    )
    .unwrap();
    std::fs::write(
        &new_cfg,
        "os:\n  hostname: n1\nsriov:\n  enabled: true\n  num_vfs: 4\n  operator: pcidevices\n",
    )
    .unwrap();
    let files_of = |root: &Path| -> BTreeMap<std::path::PathBuf, Vec<u8>> {
        snapshot(root)
            .into_iter()
            .filter(|(p, _)| !p.as_os_str().to_string_lossy().ends_with('/'))
            .collect()
    };
    let old_root = work.path().join("old");
    let new_root = work.path().join("new");
    std::fs::create_dir(&old_root).unwrap();
    std::fs::create_dir(&new_root).unwrap();
    assert!(apply(&old_cfg, sysfs.path(), &old_root).status.success());
    assert!(apply(&new_cfg, sysfs.path(), &new_root).status.success());
    let (old, new) = (files_of(&old_root), files_of(&new_root));
    assert_ne!(old, new);
    let exe = assert_cmd::cargo::cargo_bin("harvester-sriov");
    let mut interrupted = 0;
    for k in 0..24u64 {
        let t = work.path().join(format!("t{k}"));
        crate::support::copy_tree(&old_root, &t);
        let mut child = std::process::Command::new(&exe)
            .args(["apply", "--config"])
            .arg(&new_cfg)
            .arg("--sysfs")
            .arg(sysfs.path())
            .arg("--target")
            .arg(&t)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(k * k * 150));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if !status.success() {
            interrupted += 1;
        }
        for (path, bytes) in files_of(&t) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".harvester-sriov.tmp") || name.ends_with(".harvester-sriov.bak") {
                continue; // leftovers of the killed run: the next run cleans them
            }
            let is_old = old.get(&path) == Some(&bytes);
            let is_new = new.get(&path) == Some(&bytes);
            assert!(
                is_old || is_new,
                "kill #{k}: {} is neither the old nor the new version",
                path.display()
            );
        }
        let rerun = apply(&new_cfg, sysfs.path(), &t);
        assert!(
            rerun.status.success(),
            "kill #{k}: {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        assert_eq!(
            files_of(&t),
            new,
            "kill #{k}: the rerun did not complete the work"
        );
    }
    assert!(
        interrupted >= 5,
        "only {interrupted} of 24 runs were really interrupted"
    );
}
