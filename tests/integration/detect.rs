//! `harvester-sriov detect` against fixtures and built trees: what a user
//! sees (table, JSON contract, exit codes, warnings on stderr).

use std::path::Path;

use serde_json::Value;

use crate::support::dumps::{self, Dump};
use crate::support::repo;
use crate::support::space::{self, Space, SriovFields};
use crate::support::tree::{Entry, Function, KernelSriov, Tree};

/// The binary under test.
pub(crate) fn cmd() -> assert_cmd::Command {
    assert_cmd::cargo::cargo_bin_cmd!("harvester-sriov")
}

/// Run `detect --sysfs root ARGS`: (exit code, stdout, stderr).
pub(crate) fn run(root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = cmd()
        .arg("detect")
        .arg("--sysfs")
        .arg(root)
        .args(args)
        .output()
        .expect("running harvester-sriov");
    (
        out.status.code().expect("exit code, not a signal"),
        String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    )
}

/// `detect --format json [--all]`: (exit code, devices, stderr).
pub(crate) fn json(root: &Path, all: bool) -> (i32, Vec<Value>, String) {
    let mut args = vec!["--format", "json"];
    if all {
        args.push("--all");
    }
    let (code, out, err) = run(root, &args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let devices = v["devices"].as_array().expect("devices array").clone();
    (code, devices, err)
}

fn find<'a>(devices: &'a [Value], address: &str) -> &'a Value {
    devices
        .iter()
        .find(|d| d["address"] == address)
        .unwrap_or_else(|| panic!("{address} not listed in {devices:#?}"))
}

fn addresses(devices: &[Value]) -> Vec<&str> {
    devices.iter().map(|d| d["address"].as_str().unwrap()).collect()
}

fn notes(d: &Value) -> String {
    d["notes"].to_string()
}

/// One function per dump entry, no kernel files, no driver.
pub(crate) fn tree_from_dumps(dumps: &[Dump]) -> Tree {
    dumps.iter().fold(Tree::new(), |t, d| {
        t.function(Function::new(&d.address, d.config.clone()))
    })
}

fn sample_snapshot() -> std::path::PathBuf {
    repo().join("samples/sysfs/qemu-igb-2vfs")
}

const PF: &str = "0000:01:00.0";

/// Every key of the JSON contract is present on every device.
fn assert_contract(d: &Value) {
    for key in [
        "address",
        "vendor_id",
        "device_id",
        "class",
        "vendor_name",
        "device_name",
        "driver",
        "interfaces",
        "numa_node",
        "iommu_group",
        "physfn",
        "capability",
        "kernel",
        "vfs",
        "status",
        "hint",
    ] {
        assert!(d.get(key).is_some(), "JSON device lacks {key}: {d:#}");
    }
    if let Some(cap) = d["capability"].as_object() {
        for key in [
            "offset",
            "version",
            "initial_vfs",
            "total_vfs",
            "num_vfs",
            "vf_enabled",
            "vf_offset",
            "vf_stride",
            "vf_device_id",
        ] {
            assert!(cap.contains_key(key), "capability lacks {key}: {d:#}");
        }
    }
    if let Some(k) = d["kernel"].as_object() {
        for key in [
            "total_vfs",
            "num_vfs",
            "vf_offset",
            "vf_stride",
            "vf_device_id",
            "drivers_autoprobe",
        ] {
            assert!(k.contains_key(key), "kernel lacks {key}: {d:#}");
        }
    }
    for key in ["vendor_id", "device_id"] {
        if let Some(s) = d[key].as_str() {
            assert!(
                s.len() == 4 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{key} {s:?} is not 4 lower-case hex digits without 0x"
            );
        }
    }
}

// ---------------------------------------------------------------- fixtures

#[test]
fn real_82576_dump_capability_fields() {
    let dir = tree_from_dumps(&dumps::fixture("pciutils-cap-pcie-2_intel-82576-pf_sriov.txt")).build();
    let (code, devices, _) = json(dir.path(), false);
    assert_eq!(code, 0);
    assert_eq!(addresses(&devices), [PF]);
    let d = &devices[0];
    assert_contract(d);
    assert_eq!(
        d["capability"],
        serde_json::json!({
            "offset": 0x160, "version": 1, "initial_vfs": 8, "total_vfs": 8, "num_vfs": 1,
            "vf_enabled": true, "vf_offset": 384, "vf_stride": 2, "vf_device_id": "10ca"
        })
    );
    assert_eq!(d["vendor_id"], "8086");
    assert_eq!(d["device_id"], "10c9");
    assert_eq!(d["class"], "020000");
    assert_eq!(d["vendor_name"], "Intel Corporation");
    assert_eq!(d["device_name"], "82576 Gigabit Network Connection");
    // No kernel files in this tree: the capability alone, kernel disabled.
    assert_eq!(d["kernel"], Value::Null);
    assert_eq!(d["status"], "kernel-disabled");
    assert!(notes(d).contains("created no sriov_* files"), "{d:#}");
}

#[test]
fn real_82576_with_kernel_files_and_a_vf_is_vfs_enabled() {
    let config = space::intel_82576();
    let vf = "0000:01:10.0";
    let dir = Tree::new()
        .function(
            Function::new(PF, config.clone())
                .driver("igb")
                .interface("eth0", "00:1b:21:2b:46:e0")
                .numa_node(0)
                .iommu_group(12)
                .kernel_sriov(KernelSriov::new(7, 1, 384, 2, 0x10ca)),
        )
        .function(
            Function::new(vf, Space::pcie(0xffff, 0xffff, 0x020000).bytes())
                .ids(0x8086, 0x10ca)
                .class(0x020000)
                .driver("igbvf"),
        )
        .link_vfs(PF, &[vf])
        .build();
    let (code, devices, err) = json(dir.path(), false);
    assert_eq!(code, 0, "{err}");
    assert_eq!(addresses(&devices), [PF]);
    let d = &devices[0];
    assert_contract(d);
    assert_eq!(d["status"], "vfs-enabled");
    assert_eq!(d["driver"], "igb");
    assert_eq!(d["interfaces"], serde_json::json!(["eth0"]));
    assert_eq!(d["numa_node"], 0);
    assert_eq!(d["iommu_group"], 12);
    assert_eq!(d["vfs"], serde_json::json!([vf]));
    assert_eq!(
        d["kernel"],
        serde_json::json!({"total_vfs": 7, "num_vfs": 1, "vf_offset": 384, "vf_stride": 2,
            "vf_device_id": "10ca", "drivers_autoprobe": true})
    );
    assert!(
        notes(d).contains("TotalVFs 8 but kernel sriov_totalvfs 7"),
        "{d:#}"
    );
    assert!(err.is_empty(), "no warnings expected: {err}");
}

#[test]
fn qemu_whole_system_dump() {
    let all = dumps::fixture("qemu-q35-full-system_igb-2vfs_nvme-pf.txt");
    let dir = tree_from_dumps(&all).build();
    let (code, devices, err) = json(dir.path(), false);
    assert_eq!(code, 0, "{err}");
    assert_eq!(addresses(&devices), [PF, "0000:02:00.0"]);
    let igb = &devices[0]["capability"];
    assert_eq!(
        (
            &igb["offset"],
            &igb["total_vfs"],
            &igb["num_vfs"],
            &igb["vf_enabled"]
        ),
        (
            &Value::from(0x160),
            &Value::from(8),
            &Value::from(2),
            &Value::from(true)
        )
    );
    assert_eq!(
        (&igb["vf_offset"], &igb["vf_stride"]),
        (&Value::from(128), &Value::from(2))
    );
    let nvme = &devices[1]["capability"];
    assert_eq!(
        (
            &nvme["offset"],
            &nvme["total_vfs"],
            &nvme["vf_device_id"],
            &nvme["vf_enabled"]
        ),
        (
            &Value::from(0x120),
            &Value::from(2),
            &Value::from("0010"),
            &Value::from(false)
        )
    );

    let (code, devices, _) = json(dir.path(), true);
    assert_eq!(code, 0);
    assert_eq!(devices.len(), all.len());
    for d in &devices {
        assert_contract(d);
    }
    for small in all.iter().filter(|d| d.config.len() == 256) {
        let d = find(&devices, &small.address);
        assert_eq!(d["status"], "not-sriov", "{d:#}");
        assert_eq!(d["capability"], Value::Null);
    }
    for port in ["0000:00:02.0", "0000:00:03.0", "0000:00:04.0"] {
        assert_eq!(find(&devices, port)["status"], "not-sriov");
    }
}

#[test]
fn sixty_four_byte_view_has_no_capability() {
    let dir = tree_from_dumps(&dumps::fixture("derived-82576-truncated-64.txt")).build();
    let (code, devices, _) = json(dir.path(), false);
    assert_eq!(code, 1);
    assert!(devices.is_empty());
    let (code, devices, _) = json(dir.path(), true);
    assert_eq!(code, 1);
    assert_eq!(devices[0]["status"], "not-sriov");
    assert_eq!(devices[0]["capability"], Value::Null);
}

#[test]
fn sixty_four_byte_view_with_kernel_files_is_config_unreadable() {
    let config = dumps::fixture("derived-82576-truncated-64.txt").remove(0).config;
    let dir = Tree::new()
        .function(
            Function::new(PF, config)
                .driver("igb")
                .kernel_sriov(KernelSriov::new(7, 0, 384, 2, 0x10ca)),
        )
        .build();
    let (code, devices, _) = json(dir.path(), false);
    assert_eq!(code, 0);
    let d = &devices[0];
    assert_eq!(d["status"], "config-unreadable");
    assert_eq!(d["capability"], Value::Null);
    assert_eq!(d["kernel"]["total_vfs"], 7);
    assert!(notes(d).contains("config space is 64 bytes"), "{d:#}");
    assert!(d["hint"].as_str().unwrap().contains("run as root"));
}

#[test]
fn chain_loop_is_found_and_noted() {
    let dir = tree_from_dumps(&dumps::fixture("synthetic-82576-sriov-chain-loop.txt")).build();
    let (code, devices, _) = json(dir.path(), false);
    assert_eq!(code, 0);
    assert_eq!(devices[0]["capability"]["offset"], 0x160);
    assert_eq!(devices[0]["capability"]["total_vfs"], 8);
    assert!(notes(&devices[0]).contains("chain loops"), "{:#}", devices[0]);
    let (_, table, _) = run(dir.path(), &[]);
    assert!(
        table.contains("note: the extended capability chain loops"),
        "{table}"
    );
}

#[test]
fn negative_root_port_is_not_listed() {
    let dir = tree_from_dumps(&dumps::fixture("pciutils-cap-pcie-1_no-sriov.txt")).build();
    let (code, out, _) = run(dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(out.contains("no SR-IOV capable PCI function found"), "{out}");
    let (code, devices, _) = json(dir.path(), false);
    assert_eq!((code, devices.len()), (1, 0));
    let (code, devices, _) = json(dir.path(), true);
    assert_eq!(code, 1);
    assert_eq!(addresses(&devices), ["0000:00:01.0"]);
    assert_eq!(devices[0]["status"], "not-sriov");
}

#[test]
fn real_sysfs_snapshot() {
    let root = sample_snapshot();
    let (code, devices, err) = json(&root, false);
    assert_eq!(code, 0);
    assert!(err.is_empty(), "the real snapshot gives no warnings: {err}");
    assert_eq!(addresses(&devices), [PF, "0000:02:00.0"]);
    let pf = &devices[0];
    assert_contract(pf);
    assert_eq!(pf["driver"], "igb");
    assert_eq!(pf["interfaces"], serde_json::json!(["eth0"]));
    assert_eq!(pf["iommu_group"], 6);
    assert_eq!(pf["numa_node"], Value::Null, "numa_node -1 means unknown");
    assert_eq!(pf["kernel"]["total_vfs"], 7);
    assert_eq!(pf["capability"]["total_vfs"], 8);
    assert_eq!(pf["kernel"]["num_vfs"], 2);
    assert_eq!(pf["vfs"], serde_json::json!(["0000:01:10.0", "0000:01:10.2"]));
    assert_eq!(pf["status"], "vfs-enabled");
    assert!(notes(pf).contains("igb driver limits it"));
    let nvme = &devices[1];
    assert_eq!(nvme["status"], "ready");
    assert_eq!(nvme["driver"], "nvme");

    let (code, all, _) = json(&root, true);
    assert_eq!(code, 0);
    assert_eq!(all.len(), 12);
    for (vf, driver) in [("0000:01:10.0", "igbvf"), ("0000:01:10.2", "vfio-pci")] {
        let d = find(&all, vf);
        assert_eq!(d["status"], "vf");
        assert_eq!(d["physfn"], PF);
        assert_eq!(d["driver"], driver);
        assert_eq!(d["device_id"], "10ca", "ids come from the kernel files, not ffff");
    }
    assert_eq!(
        find(&all, "0000:01:10.0")["interfaces"],
        serde_json::json!(["eth2"])
    );
    assert_eq!(find(&all, "0000:01:10.2")["interfaces"], serde_json::json!([]));
}

#[test]
fn table_output_of_the_snapshot() {
    let (code, out, _) = run(&sample_snapshot(), &[]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ADDRESS") && lines[0].contains("STATUS"),
        "{out}"
    );
    let pf = lines.iter().find(|l| l.starts_with(PF)).expect("PF row");
    for cell in ["igb", "eth0", "2/7/8", "vfs-enabled"] {
        assert!(pf.contains(cell), "{cell} missing from {pf:?}");
    }
    let nvme = lines
        .iter()
        .find(|l| l.starts_with("0000:02:00.0"))
        .expect("NVMe row");
    assert!(nvme.contains("0/2/2") && nvme.ends_with("ready"), "{nvme:?}");
    assert!(out.contains("hint: 2 of 7 VFs exist now"));
    assert!(!out.contains("0000:01:10.0"), "VFs only with --all");
    let (_, all, _) = run(&sample_snapshot(), &["--all"]);
    let vf = all
        .lines()
        .find(|l| l.starts_with("0000:01:10.2"))
        .expect("VF row");
    assert!(vf.contains("vfio-pci") && vf.ends_with("vf"), "{vf:?}");
}

#[test]
fn exit_code_2_on_errors() {
    let missing = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&missing.path().join("nope"), &[]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("nope/bus/pci/devices"), "{err}");
    let (code, _, err) = run(missing.path(), &["--format", "yaml"]);
    assert_eq!(code, 2, "{err}");
}

// ------------------------------------------------------------------ statuses

fn one_pf(f: Function) -> (i32, Value, String) {
    let dir = Tree::new().function(f).build();
    let (code, devices, err) = json(dir.path(), true);
    let d = find(&devices, PF).clone();
    assert_contract(&d);
    (code, d, err)
}

fn igb_pf(total: u16, num: u16) -> Function {
    Function::new(PF, space::intel_82576_with(8, num))
        .driver("igb")
        .kernel_sriov(KernelSriov::new(total, num, 384, 2, 0x10ca))
}

#[test]
fn status_ready() {
    let (code, d, err) = one_pf(igb_pf(7, 0));
    assert_eq!((code, d["status"].as_str()), (0, Some("ready")), "{err}");
    assert!(d["hint"].as_str().unwrap().contains("up to 7 VFs"));
}

#[test]
fn status_vfs_enabled() {
    let (code, d, _) = one_pf(igb_pf(7, 3));
    assert_eq!((code, d["status"].as_str()), (0, Some("vfs-enabled")));
    // sriov_numvfs 3 but no virtfn links in this tree: said, not hidden.
    assert!(notes(&d).contains("3 but 0 virtfn links"), "{d:#}");
}

#[test]
fn status_firmware_limited() {
    let config = Space::pcie(0x15b3, 0x1017, 0x020000)
        .sriov(
            0x180,
            0,
            SriovFields {
                vf_device: 0x1018,
                ..SriovFields::igb()
            },
        )
        .bytes();
    let (code, d, _) = one_pf(
        Function::new(PF, config)
            .driver("mlx5_core")
            .kernel_sriov(KernelSriov::new(8, 0, 128, 2, 0x1018)),
    );
    assert_eq!((code, d["status"].as_str()), (0, Some("firmware-limited")));
    assert!(d["hint"].as_str().unwrap().contains("mstconfig -d 0000:01:00.0"));
}

#[test]
fn status_config_unreadable() {
    let (code, d, _) = one_pf(
        Function::new(PF, space::intel_82576().drain(..64).collect::<Vec<u8>>())
            .driver("igb")
            .kernel_sriov(KernelSriov::new(7, 0, 384, 2, 0x10ca)),
    );
    assert_eq!((code, d["status"].as_str()), (0, Some("config-unreadable")));
}

#[test]
fn status_no_driver() {
    let f =
        Function::new(PF, space::intel_82576_with(8, 0)).kernel_sriov(KernelSriov::new(8, 0, 384, 2, 0x10ca));
    let (code, d, _) = one_pf(f);
    assert_eq!((code, d["status"].as_str()), (0, Some("no-driver")));
    assert_eq!(d["driver"], Value::Null);
    assert!(d["hint"].as_str().unwrap().contains("ENOENT"));
}

#[test]
fn status_driver_param_only() {
    let config = Space::pcie(0x15b3, 0x1007, 0x020000)
        .sriov(
            0x108,
            0,
            SriovFields {
                vf_device: 0x1004,
                ..SriovFields::igb()
            },
        )
        .bytes();
    let (code, d, _) = one_pf(
        Function::new(PF, config)
            .driver("mlx4_core")
            .kernel_sriov(KernelSriov::new(8, 0, 128, 2, 0x1004)),
    );
    assert_eq!((code, d["status"].as_str()), (0, Some("driver-param-only")));
    assert!(d["hint"].as_str().unwrap().contains("num_vfs"));
}

#[test]
fn status_kernel_disabled_without_sriov_files() {
    let (code, d, _) = one_pf(Function::new(PF, space::intel_82576_with(8, 0)).driver("igb"));
    assert_eq!((code, d["status"].as_str()), (0, Some("kernel-disabled")));
    assert_eq!(d["kernel"], Value::Null);
    assert!(d["hint"].as_str().unwrap().contains("BIOS"));
}

#[test]
fn status_kernel_disabled_with_totalvfs_zero() {
    let (code, d, _) = one_pf(igb_pf(0, 0));
    assert_eq!((code, d["status"].as_str()), (0, Some("kernel-disabled")));
    assert_eq!(d["kernel"]["total_vfs"], 0);
    assert!(d["hint"].as_str().unwrap().contains("reports 0 VFs"));
}

#[test]
fn status_vf_and_not_sriov() {
    let vf = "0000:01:10.0";
    let dir = Tree::new()
        .function(igb_pf(7, 1))
        .function(Function::new(vf, Space::pcie(0xffff, 0xffff, 0).bytes()).ids(0x8086, 0x10ca))
        .function(Function::new(
            "0000:00:1f.0",
            Space::conventional(0x8086, 0x2918, 0x060100).bytes(),
        ))
        .link_vfs(PF, &[vf])
        .build();
    let (code, devices, _) = json(dir.path(), true);
    assert_eq!(code, 0);
    let d = find(&devices, vf);
    assert_eq!(
        (d["status"].as_str(), d["physfn"].as_str()),
        (Some("vf"), Some(PF))
    );
    assert_eq!(find(&devices, "0000:00:1f.0")["status"], "not-sriov");
    assert_eq!(find(&devices, PF)["vfs"], serde_json::json!([vf]));
}

// ------------------------------------------------------------- hostile sysfs

/// Run both formats with and without `--all`: never a crash, and the
/// warning names `needle`. Returns the `--all` JSON devices.
fn hostile(tree: Tree, needle: &str) -> Vec<Value> {
    let dir = tree.build();
    let mut last = vec![];
    for args in [&["--all"][..], &["--all", "--format", "json"][..], &[][..]] {
        let (code, out, err) = run(dir.path(), args);
        assert!(code == 0 || code == 1, "exit {code} for {args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.lines()
                .any(|l| l.starts_with("warning: ") && l.contains(needle)),
            "no warning naming {needle} for {args:?}: {err}\n{out}"
        );
    }
    let (_, devices, _) = json(dir.path(), true);
    last.extend(devices);
    last
}

#[test]
fn hostile_garbage_vendor_file() {
    let devices = hostile(
        Tree::new().function(igb_pf(7, 0).file("vendor", b"\xff\xfeINTEL!\n".to_vec())),
        "0000:01:00.0/vendor",
    );
    // The config header still names the vendor.
    assert_eq!(find(&devices, PF)["vendor_id"], "8086");
}

#[test]
fn hostile_totalvfs_not_a_number() {
    let devices = hostile(
        Tree::new().function(igb_pf(7, 0).file("sriov_totalvfs", "seven\n")),
        "0000:01:00.0/sriov_totalvfs",
    );
    let d = find(&devices, PF);
    assert_eq!(d["kernel"]["total_vfs"], Value::Null);
    assert_eq!(d["status"], "kernel-disabled");
}

#[test]
fn hostile_non_address_entry_in_bus_devices() {
    let devices = hostile(
        Tree::new()
            .function(igb_pf(7, 0))
            .bus_entry("README", Entry::File(b"not a device\n".to_vec())),
        "bus/pci/devices/README",
    );
    assert_eq!(addresses(&devices), [PF]);
}

#[test]
fn hostile_dangling_device_symlink() {
    let devices = hostile(
        Tree::new().function(igb_pf(7, 0)).bus_entry(
            "0000:05:00.0",
            Entry::Symlink("../../../devices/pci0000:00/0000:05:00.0".into()),
        ),
        "0000:05:00.0",
    );
    assert_eq!(addresses(&devices), [PF]);
}

#[test]
fn hostile_directory_where_a_file_is_expected() {
    let devices = hostile(
        Tree::new().function(igb_pf(7, 0).dir("sriov_numvfs").dir("config")),
        "0000:01:00.0/sriov_numvfs",
    );
    let d = find(&devices, PF);
    assert_eq!(d["kernel"]["num_vfs"], Value::Null);
    assert_eq!(d["kernel"]["total_vfs"], 7);
}

#[test]
fn hostile_unreadable_config_is_named() {
    hostile(
        Tree::new().function(igb_pf(7, 0).dir("config")),
        "0000:01:00.0/config",
    );
}

#[test]
fn hostile_symlink_loop() {
    let devices = hostile(
        Tree::new().function(
            igb_pf(7, 0)
                .symlink("sriov_offset", "sriov_offset")
                .symlink("driver", "driver"),
        ),
        "0000:01:00.0/sriov_offset",
    );
    assert_eq!(find(&devices, PF)["kernel"]["vf_offset"], Value::Null);
}

#[test]
fn hostile_config_sizes_never_panic() {
    let full = space::intel_82576();
    for len in [0usize, 63, 64, 65, 255, 256, 4095, 4096] {
        let dir = Tree::new()
            .function(
                Function::new(PF, full[..len].to_vec())
                    .driver("igb")
                    .kernel_sriov(KernelSriov::new(7, 0, 384, 2, 0x10ca)),
            )
            .build();
        let (code, devices, err) = json(dir.path(), true);
        assert_eq!(code, 0, "len {len}: {err}");
        let d = find(&devices, PF);
        // The SR-IOV capability sits at 0x160..0x1a0: only a full read finds it.
        assert_eq!(d["capability"].is_object(), len >= 0x1a0, "len {len}: {d:#}");
        // Up to 0x43 the standard capability list is out of reach: the
        // capability was not cross-checked. From 0xa4 (the 82576's last
        // standard capability) the lists are readable and hold no SR-IOV
        // below 0x1a0: the kernel view decides, and a note says so.
        let expected = if len < 0xa4 { "config-unreadable" } else { "ready" };
        assert_eq!(d["status"], expected, "len {len}: {d:#}");
        if (0xa4..0x1a0).contains(&len) {
            assert!(
                notes(d).contains("holds no SR-IOV capability"),
                "len {len}: {d:#}"
            );
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}
