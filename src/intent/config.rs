//! The unattended configuration: the `sriov:` section of a Harvester install
//! `config.yaml` (or the seed's `sriov-config` JSON form), plus the few
//! Harvester keys the tool needs. Everything else in the file is ignored, as
//! Harvester's installer ignores unknown top-level keys.
//!
//! This file reads the document and checks what spans sections; the data is
//! in `model.rs`, the value readers in `reader.rs`, the `sriov:` schema in
//! `schema.rs`, the installer's keys in `harvester.rs`. Keys of the tool's
//! own section are accepted in snake_case and camelCase. Every error names
//! the file, the key path and the value, and nothing is written.

use std::path::Path;

use serde::Deserialize;
use serde_yaml::Value;

pub(crate) use crate::intent::model::*;
pub(crate) use crate::intent::reader::{ConfigError, MAX_CONFIG_BYTES};
use crate::intent::reader::{Ctx, describe};
use crate::intent::schema::{parse_seed, parse_sriov, without_effect};

/// The first YAML document of `text`, as the installer reads it (yaml.v3
/// `Unmarshal` decodes the first document; a UTF-8 byte-order mark is
/// skipped). A later document that is not empty is refused: the installer
/// would never see it.
fn first_document(file: &Path, text: &str) -> Result<Value, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let yaml = |e: serde_yaml::Error| ConfigError::Yaml {
        file: file.to_owned(),
        message: e.to_string(),
    };
    let mut docs = serde_yaml::Deserializer::from_str(text);
    let Some(first) = docs.next() else {
        return Ok(Value::Null);
    };
    let first = Value::deserialize(first).map_err(yaml)?;
    for (i, doc) in docs.enumerate() {
        if !Value::deserialize(doc).map_err(yaml)?.is_null() {
            return Err(ConfigError::Invalid {
                file: file.to_owned(),
                key: format!("(document {})", i + 2),
                message: "Harvester's installer reads only the first YAML document; move these keys into it or delete the `---` before them".into(),
            });
        }
    }
    Ok(first)
}

/// A key that looks meant as `sriov:` but is not read as it (`SRIOV`,
/// `sriovs`, `sriov` under `install:`): refused, so a section is never
/// silently a no-op.
fn almost_sriov(ctx: &Ctx, doc: &Value) -> Result<(), ConfigError> {
    let Value::Mapping(top) = doc else {
        return Ok(());
    };
    let squash = |k: &str| k.to_lowercase().replace(['_', '-'], "");
    let looks = |k: &str| {
        let s = squash(k);
        s == "sriov" || s == "sriovs" || s == "sriovconfig" || s == "sriovsettings"
    };
    for (k, v) in top {
        let Some(k) = k.as_str() else { continue };
        if k == "sriov" || k == "sriov-config" || k == "sriov_config" {
            continue;
        }
        if looks(k) {
            return Err(ctx.err(
                k,
                "is not read: the SR-IOV section is the top-level key `sriov` (lower case), or `sriov-config`",
            ));
        }
        if let Value::Mapping(m) = v {
            for inner in m.keys().filter_map(Value::as_str) {
                if looks(inner) {
                    return Err(ctx.err(
                        &format!("{k}.{inner}"),
                        format!(
                            "is not read: the SR-IOV section is the top-level key `sriov`, not a key under `{k}`; move it to the top level"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Parse an install config from text. `file` is only used in messages.
pub(crate) fn parse(file: &Path, text: &str) -> Result<InstallConfig, ConfigError> {
    let ctx = Ctx { file };
    let doc = first_document(file, text)?;
    let mut cfg = InstallConfig {
        file: file.to_owned(),
        ..InstallConfig::default()
    };
    if doc.is_null() {
        return Ok(cfg); // an empty file: no sriov section
    }
    let top = ctx.entries("", &doc).map_err(|_| {
        ctx.err(
            "(top level)",
            format!(
                "expected a mapping of keys (a Harvester config.yaml), got {}",
                describe(&doc)
            ),
        )
    })?;
    almost_sriov(&ctx, &doc)?;
    let mut seen_section: Option<&str> = None;
    for (k, v) in &top {
        if !matches!(k.as_str(), "sriov" | "sriov-config" | "sriov_config") {
            continue; // Harvester's own keys: not ours.
        }
        if let Some(first) = seen_section {
            return Err(ctx.err(
                k,
                format!("conflicts with `{first}`: give the SR-IOV settings once"),
            ));
        }
        seen_section = Some(if k == "sriov" { "sriov" } else { "sriov-config" });
        cfg.sriov = Some(if k == "sriov" {
            let s = parse_sriov(&ctx, k, v)?;
            cfg.warnings.extend(without_effect(&ctx, k, v, &s));
            s
        } else {
            parse_seed(&ctx, k, v)?
        });
    }
    crate::intent::harvester::read(&ctx, &doc, &mut cfg)?;
    check_iommu(&ctx, &cfg)?;
    Ok(cfg)
}

/// sriov-network-operator's daemon wants `intel_iommu=on iommu=pt` for
/// vfio-pci and reboots the node until it has them (v1.6.0
/// pkg/consts/constants.go). Harvester's installed command line has them
/// (harvester/harvester-installer:package/harvester-os/files/etc/cos/bootargs.cfg);
/// extra arguments that turn them off would make that a reboot loop.
fn check_iommu(ctx: &Ctx, cfg: &InstallConfig) -> Result<(), ConfigError> {
    let Some(s) = &cfg.sriov else { return Ok(()) };
    if !s.enabled || s.operator != Operator::SriovNetworkOperator || s.device_type != DeviceType::VfioPci {
        return Ok(());
    }
    let Some(args) = &cfg.kernel_args else {
        return Ok(());
    };
    let off = args.split_whitespace().find(|a| {
        matches!(
            a.to_ascii_lowercase().as_str(),
            "intel_iommu=off" | "amd_iommu=off" | "iommu=off" | "iommu=nopt" | "iommu.passthrough=0"
        )
    });
    match off {
        Some(a) => Err(ctx.err(
            "os.additional_kernel_arguments",
            format!(
                "{a:?} turns off what sriov-network-operator needs for vfio-pci (intel_iommu=on iommu=pt): its daemon would reboot the node again and again; drop it, or use device_type: netdevice or operator: pcidevices"
            ),
        )),
        None => Ok(()),
    }
}

/// Read and parse an install config file.
pub(crate) fn load(file: &Path) -> Result<InstallConfig, ConfigError> {
    let opened = std::fs::File::open(file).map_err(|source| ConfigError::Read {
        file: file.to_owned(),
        source,
    })?;
    load_from(file, opened)
}

/// Read and parse an install config from an open file (one inside the
/// target, opened by the writer's resolver); `file` names it in messages.
pub(crate) fn load_from(file: &Path, reader: impl std::io::Read) -> Result<InstallConfig, ConfigError> {
    let read_err = |source| ConfigError::Read {
        file: file.to_owned(),
        source,
    };
    let Some(bytes) = crate::bounded::read_at_most(reader, MAX_CONFIG_BYTES).map_err(read_err)? else {
        return Err(ConfigError::TooLarge {
            file: file.to_owned(),
        });
    };
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::NotUtf8 {
        file: file.to_owned(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    parse(file, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::harvester::{canonical_mac, fuzzy_names, json_matches, to_yaml_key};

    fn p(text: &str) -> Result<InstallConfig, String> {
        parse(Path::new("c.yaml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn full_section_in_both_key_styles() {
        let snake = p("os:\n  hostname: node1\nsriov:\n  enabled: true\n  num_vfs: 4\n  device_type: netdevice\n  resource_name: fast\n  mtu: 9000\n  operator: pcidevices\n  devices:\n    - match: {address: \"0000:3b:00.0\"}\n      num_vfs: 16\n    - match: {interface: eno1}\n      enabled: false\n").unwrap();
        let camel = p("os:\n  hostname: node1\nsriov:\n  enabled: true\n  numVfs: 4\n  deviceType: netdevice\n  resourceName: fast\n  mtu: 9000\n  operator: pcidevices\n  devices:\n    - match: {address: \"0000:3b:00.0\"}\n      numVfs: 16\n    - match: {interface: eno1}\n      enabled: false\n").unwrap();
        assert_eq!(snake.sriov, camel.sriov);
        let s = snake.sriov.unwrap();
        assert_eq!(
            (s.num_vfs, s.device_type, s.operator, s.mtu),
            (4, DeviceType::Netdevice, Operator::Pcidevices, Some(9000))
        );
        assert_eq!(s.devices[0].num_vfs, Some(16));
        assert_eq!(snake.hostname.as_deref(), Some("node1"));
    }

    #[test]
    fn seed_form_object_and_string() {
        let a = p("sriov-config: {\"sriov_enabled\": true, \"num_vfs\": 8}\n")
            .unwrap()
            .sriov
            .unwrap();
        let b = p("sriov-config: '{\"sriov_enabled\": true, \"num_vfs\": 8}'\n")
            .unwrap()
            .sriov
            .unwrap();
        assert_eq!(a, b);
        assert!(a.enabled && a.num_vfs == 8);
        assert!(
            p("sriov-config: '{not json'\n")
                .unwrap_err()
                .contains("sriov-config: not valid JSON")
        );
    }

    #[test]
    fn harvester_keys_and_no_section() {
        let c = p("install:\n  mode: create\n  managementInterface:\n    interfaces:\n      - name: eno1\n        hwAddr: \"AA:BB:CC:DD:EE:FF\"\nsystem_settings:\n  foo: bar\n").unwrap();
        assert!(c.sriov.is_none());
        assert_eq!(c.install_mode.as_deref(), Some("create"));
        assert_eq!(c.management[0].hw_addr.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
    }

    #[test]
    fn errors_name_the_key_and_value() {
        let cases = [
            (
                "sriov:\n  num_vfs: eight\n",
                "c.yaml: sriov.num_vfs: expected a whole number from 1 to 65535, got \"eight\"",
            ),
            (
                "sriov:\n  num_vfs: -1\n",
                "sriov.num_vfs: expected a whole number from 1 to 65535, got -1",
            ),
            ("sriov:\n  num_vfs: 1e9\n", "got 1000000000.0"),
            ("sriov:\n  num_vfs: true\n", "got true"),
            (
                "sriov:\n  num_vf: 3\n",
                "sriov.num_vf: unknown key (did you mean `num_vfs`?)",
            ),
            ("sriov:\n  device_type: vfio\n", "\"vfio\" is not a device type"),
            (
                "sriov:\n  operator: sriov-operator\n",
                "(did you mean `sriov-network-operator`?)",
            ),
            (
                "sriov:\n  resource_name: \"-bad\"\n",
                "sriov.resource_name: \"-bad\" is not a valid resource name",
            ),
            (
                "sriov:\n  devices:\n    - match: {}\n",
                "sriov.devices[0].match: is empty",
            ),
            (
                "sriov:\n  devices:\n    - num_vfs: 2\n",
                "sriov.devices[0].match: is missing",
            ),
            (
                "sriov:\n  devices:\n    - match: {interface: a}\n      num_vfs: 2\n    - match: {interface: a}\n      num_vfs: 3\n",
                "sriov.devices[1]: conflicts with sriov.devices[0]",
            ),
            (
                "sriov:\n  labels:\n    example.com/fast: yes\n",
                "c.yaml: sriov.labels.example.com/fast:",
            ),
            ("- a\n- b\n", "expected a mapping of keys"),
            ("sriov: [1]\n", "sriov: expected a mapping, got a list"),
            (
                "sriov:\n  enabled: maybe\n",
                "sriov.enabled: expected true or false, got the text \"maybe\"",
            ),
            (
                "sriov:\n  enabled: true\nsriov-config: {\"sriov_enabled\": true, \"num_vfs\": 2}\n",
                "conflicts with `sriov`",
            ),
            ("sriov:\n  numVfs: 2\n  num_vfs: 3\n", "given twice"),
            (
                "sriov:\n  devices:\n    - match: {address: \"3b:00\"}\n",
                "expected a PCI address",
            ),
            ("key: [unclosed\n", "not valid YAML"),
        ];
        for (text, want) in cases {
            let e = p(text).unwrap_err();
            assert!(e.contains(want), "{text:?}\n  got:  {e}\n  want: {want}");
        }
    }

    #[test]
    fn no_string_becomes_a_boolean() {
        assert!(p("sriov:\n  enabled: true\n").unwrap().sriov.unwrap().enabled);
        assert!(!p("sriov:\n  enabled: false\n").unwrap().sriov.unwrap().enabled);
        // unquoted YAML 1.1 words are text to this reader (as to Harvester's
        // yaml.v3), quoted ones are text to every reader: all refused
        for (text, key) in [
            ("sriov:\n  enabled: yes\n", "sriov.enabled"),
            ("sriov:\n  enabled: \"yes\"\n", "sriov.enabled"),
            ("sriov:\n  enabled: \"true\"\n", "sriov.enabled"),
            ("sriov:\n  enabled: on\n", "sriov.enabled"),
            ("sriov:\n  label_capable: 'false'\n", "sriov.label_capable"),
            (
                "sriov:\n  devices:\n    - match: {interface: a}\n      enabled: n\n",
                "sriov.devices[0].enabled",
            ),
            (
                "sriov:\n  devices:\n    - match: {interface: a}\n      allow_management: Y\n",
                "sriov.devices[0].allow_management",
            ),
            (
                "sriov-config: '{\"sriov_enabled\": \"yes\", \"num_vfs\": 8}'\n",
                "sriov-config.sriov_enabled",
            ),
            (
                "sriov-config: '{\"sriov_enabled\": \"true\", \"num_vfs\": 8}'\n",
                "sriov-config.sriov_enabled",
            ),
        ] {
            let e = p(text).unwrap_err();
            assert!(
                e.contains(&format!("c.yaml: {key}: expected true or false, got the text")),
                "{text:?}: {e}"
            );
        }
        assert!(
            p("sriov:\n  enabled: 1\n")
                .unwrap_err()
                .contains("expected true or false, got 1")
        );
    }

    #[test]
    fn the_addon_boolean_is_read_as_harvester_reads_it() {
        // rancher/mapper ToBool: true/t/yes/y (any case) or a YAML true; all else false
        for (v, want) in [
            ("true", true),
            ("\"yes\"", true),
            ("Y", true),
            ("\"T\"", true),
            ("false", false),
            ("maybe", false),
            ("1", false),
            ("\"on\"", false),
            // ToBool starts with Singular: a list gives its first item
            ("[true]", true),
            ("[\"yes\"]", true),
            ("[false, true]", false),
            ("[]", false),
            ("\" yes \"", true),
        ] {
            let c = p(&format!(
                "install:\n  addons:\n    harvester_pcidevices_controller:\n      enabled: {v}\n"
            ))
            .unwrap();
            assert_eq!(c.pcidevices_addon, Some(want), "enabled: {v}");
        }
        // the addon's name is a map key, not a fuzzy field name
        let c = p("install:\n  addons:\n    harvesterPcidevicesController:\n      enabled: true\n").unwrap();
        assert_eq!(c.pcidevices_addon, None);
        // ToBool runs only on the key spelled `enabled`; json reads `Enabled`
        // case-insensitively but into a Go bool, so only a YAML boolean loads
        let c =
            p("install:\n  addons:\n    harvester_pcidevices_controller:\n      Enabled: true\n").unwrap();
        assert_eq!(c.pcidevices_addon, Some(true));
        let e = p("install:\n  addons:\n    harvester_pcidevices_controller:\n      Enabled: \"yes\"\n")
            .unwrap_err();
        assert!(e.contains("c.yaml: install.addons.harvester_pcidevices_controller.Enabled: expected true or false, got \"yes\": Harvester's installer cannot load this config"), "{e}");
        // under `Addons` (not a fuzzy name) the mappers do not run at all
        let e = p("install:\n  Addons:\n    harvester_pcidevices_controller:\n      enabled: \"yes\"\n")
            .unwrap_err();
        assert!(
            e.contains("Addons.harvester_pcidevices_controller.enabled: expected true or false"),
            "{e}"
        );
        let c =
            p("Install:\n  addons:\n    harvester_pcidevices_controller:\n      enabled: true\n").unwrap();
        assert_eq!(c.pcidevices_addon, Some(true));
    }

    #[test]
    fn documents_as_the_installer_reads_them() {
        let c = p("\u{feff}sriov:\n  enabled: true\n").unwrap();
        assert!(c.sriov.unwrap().enabled);
        assert!(p("sriov:\n  enabled: true\n---\n").unwrap().sriov.is_some());
        let e = p("os:\n  hostname: a\n---\nsriov:\n  enabled: true\n").unwrap_err();
        assert!(
            e.contains("c.yaml: (document 2): Harvester's installer reads only the first YAML document"),
            "{e}"
        );
    }

    #[test]
    fn a_section_that_is_almost_sriov_is_named() {
        for (text, key) in [
            ("SRIOV:\n  enabled: true\n", "SRIOV"),
            ("Sriov:\n  enabled: true\n", "Sriov"),
            ("sriovs:\n  enabled: true\n", "sriovs"),
            ("sr-iov:\n  enabled: true\n", "sr-iov"),
            ("install:\n  sriov:\n    enabled: true\n", "install.sriov"),
            ("system_settings:\n  sriov: x\n", "system_settings.sriov"),
        ] {
            let e = p(text).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "c.yaml: {key}: is not read: the SR-IOV section is the top-level key `sriov`"
                )),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn seed_json_duplicate_keys_are_refused() {
        let e = p("sriov-config: '{\"sriov_enabled\": true, \"num_vfs\": 8, \"num_vfs\": 2}'\n").unwrap_err();
        assert!(
            e.contains("c.yaml: sriov-config: not usable JSON") && e.contains("duplicate"),
            "{e}"
        );
    }

    #[test]
    fn macs_as_go_parses_them() {
        for (a, want) in [
            ("00:1B:21:2b:46:e1", Some("00:1b:21:2b:46:e1")),
            ("00-1b-21-2b-46-e1", Some("00:1b:21:2b:46:e1")),
            ("001b.212b.46e1", Some("00:1b:21:2b:46:e1")),
            ("00:1b:21:2b:46", None),
            ("00:1b-21:2b:46:e1", None),
        ] {
            assert_eq!(canonical_mac(a).as_deref(), want, "{a}");
        }
    }

    #[test]
    fn fuzzy_names_as_rename_go_adds_them() {
        assert_eq!(
            fuzzy_names("managementInterface"),
            ["managementinterface", "management_interface"]
        );
        assert_eq!(fuzzy_names("hwAddr"), ["hwaddr", "hw_addr"]);
        assert_eq!(fuzzy_names("interfaces"), ["interfaces", "interface", "interfac"]);
        assert_eq!(fuzzy_names("os"), ["os", "o"]);
        // the camelCase singular is not added: additionalKernelArgument is not read
        assert!(!fuzzy_names("additionalKernelArguments").contains(&"additionalKernelArgument".to_owned()));
        assert_eq!(to_yaml_key("ABCd"), "abcd");
        assert!(json_matches("HWADDR", "hwAddr") && json_matches("hwaddr", "hwAddr"));
        // Go folds the Kelvin sign and the long s onto ASCII k and s
        assert!(json_matches("\u{212a}ey", "key") && json_matches("o\u{17f}", "os"));
        assert!(!json_matches("hw_addr", "hwAddr") && !json_matches("\u{130}", "i"));
    }

    #[test]
    fn harvester_keys_in_every_form_harvester_accepts() {
        let want = |c: InstallConfig| {
            assert_eq!(c.hostname.as_deref(), Some("n1"));
            assert_eq!(c.install_mode.as_deref(), Some("join"));
            assert_eq!(c.install_role.as_deref(), Some("worker"));
            assert_eq!(
                c.management,
                [MgmtNic {
                    name: Some("eno1".into()),
                    hw_addr: Some("aa:bb:cc:dd:ee:ff".into())
                }]
            );
        };
        // as written by people (snake, camel) and as the installer saves it
        // (/oem/harvester.config: lower-cased Go names)
        for (mi, hw) in [
            ("management_interface", "hwAddr"),
            ("managementInterface", "hw_addr"),
            ("managementinterface", "hwaddr"),
        ] {
            want(
                p(&format!(
                    "os:\n  hostname: n1\ninstall:\n  mode: join\n  role: worker\n  {mi}:\n    interfaces:\n      - name: eno1\n        {hw}: AA:BB:CC:DD:EE:FF\n"
                ))
                .unwrap(),
            );
        }
        // Go's encoding/json matches field names ignoring case: these are read too
        want(
            p("OS:\n  Hostname: n1\nInstall:\n  Mode: join\n  ROLE: worker\n  ManagementInterface:\n    Interfaces:\n      - Name: eno1\n        HWADDR: AA-BB-CC-DD-EE-FF\n")
                .unwrap(),
        );
        let c = p("install:\n  ManagementInterface:\n    interfaces: [{HWADDR: \"00:1b:21:2b:46:e1\"}]\n")
            .unwrap();
        assert_eq!(c.management[0].hw_addr.as_deref(), Some("00:1b:21:2b:46:e1"));
        let c = p("os:\n  AdditionalKernelArguments: iommu=pt\n").unwrap();
        assert_eq!(c.kernel_args.as_deref(), Some("iommu=pt"));
        // rename.go adds no camelCase singular, and json needs the whole name
        let c = p("os:\n  additionalKernelArgument: iommu=pt\n").unwrap();
        assert_eq!(c.kernel_args, None);
        assert_eq!(
            p("os:\n  additionalkernelargument: x\n")
                .unwrap()
                .kernel_args
                .as_deref(),
            Some("x")
        );
        // two spellings with different values: the installer keeps one by map order
        let e = p("install:\n  mode: join\n  Mode: create\n").unwrap_err();
        assert!(e.contains("install.Mode: conflicts with `install.mode`"), "{e}");
        assert_eq!(
            p("install:\n  mode: join\n  Mode: join\n")
                .unwrap()
                .install_mode
                .as_deref(),
            Some("join")
        );
        // a value the installer cannot load is refused, naming it
        let e = p("os:\n  hostname: 12\n").unwrap_err();
        assert!(e.contains("c.yaml: os.hostname: expected text, got 12"), "{e}");
        let e = p("install:\n  management_interface:\n    interfaces: [{hwAddr: \"aa:bb\"}]\n").unwrap_err();
        assert!(e.contains("\"aa:bb\" is not a MAC address"), "{e}");
        let e = p("install:\n  management_interface:\n    interfaces: [{name: a}]\n  managementinterface:\n    interfaces: [{name: b}]\n").unwrap_err();
        assert!(e.contains("conflicts with `install.management_interface`"), "{e}");
    }

    #[test]
    fn hand_off_keys_and_defaults() {
        let p = |t: &str| parse(Path::new("c.yaml"), t);
        let d = p("sriov:\n  enabled: true\n").unwrap().sriov.unwrap();
        assert_eq!(d.operator, Operator::Pcidevices);
        assert_eq!(d.operator_namespace, "sriov-network-operator");
        assert!(!d.operator_extra_nics && d.network.is_none());
        let c = p("install:\n  mode: create\n  addons:\n    harvester_pcidevices_controller:\n      enabled: \"yes\"\nos:\n  additionalKernelArguments: \"intel_iommu=on\"\nsriov:\n  enabled: true\n  operator: sriov-network-operator\n  operatorNamespace: sriov-system\n  operatorExtraNics: true\n  network: {name: vms, namespace: tenant-a, vlan: 12}\n").unwrap();
        assert_eq!(c.pcidevices_addon, Some(true));
        assert_eq!(c.kernel_args.as_deref(), Some("intel_iommu=on"));
        let s = c.sriov.unwrap();
        assert_eq!(s.operator_namespace, "sriov-system");
        assert!(s.operator_extra_nics);
        assert_eq!(
            s.network,
            Some(Network {
                name: "vms".into(),
                namespace: "tenant-a".into(),
                vlan: Some(12)
            })
        );
        // `-` is fine for pcidevices, refused for the released operator
        assert!(p("sriov:\n  resource_name: a-b\n").is_ok());
        assert!(p("sriov:\n  resource_name: a-b\n  operator: sriov-network-operator\n").is_err());
        // the IOMMU switched off matters only for the operator with vfio-pci
        let off = "os:\n  additional_kernel_arguments: iommu=off\nsriov:\n  enabled: true\n";
        assert!(p(off).is_ok());
        assert!(p(&format!("{off}  operator: sriov-network-operator\n")).is_err());
        assert!(
            p(&format!(
                "{off}  operator: sriov-network-operator\n  device_type: netdevice\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn resource_names() {
        assert!(valid_resource_name("sriovnics"));
        assert!(valid_resource_name("a_b-c9"));
        assert!(!valid_resource_name("a."));
        assert!(!valid_resource_name("_a"));
        assert!(!valid_resource_name(&"a".repeat(64)));
    }
}
