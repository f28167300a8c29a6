//! From the plan to the exact bytes of every file the node gets. Pure.
//!
//! The tool writes under `/oem` only ([`files`]): `/oem` is a partition that
//! persists and that nothing re-creates. Everything a node needs elsewhere
//! ([`materialised`]: modprobe.d, the rke2 label file, the hand-off
//! manifests, the systemd unit) is written at every boot by the yip file's
//! `initramfs` stage, so nothing lands in the OS image (which the installer's
//! chroot is) and `remove` really removes. docs/node-files.md.
//! The hand-off files' names and objects come from [`handoff`] (per-node and
//! content-addressed names under the manifests directory); NetworkManager's
//! drop-in, and the check of its profiles, from [`networkmanager`].
//!
//! [`yaml`] is the emitter every YAML file goes through.

pub(crate) mod answers;
pub(crate) mod handoff;
pub(crate) mod networkmanager;
pub(crate) mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::intent::config::{DeviceType, Operator};
use crate::layout::{
    BINARY_PATH, LABELS_PATH, MARKER, MODPROBE_PATH, NM_CONF_PATH, RKE2_DROPIN_PATH, STATE_PATH,
    UDEV_RULE_PATH, UNIT_NAME, UNIT_PATH, YIP_PATH,
};
use crate::plan::{Method, Plan};

/// One file we want in the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileSpec {
    /// Absolute path inside the target, e.g. `/oem/95_harvester-sriov.yaml`.
    pub(crate) path: PathBuf,
    pub(crate) contents: Vec<u8>,
    /// Permission bits (at most `0o7777`), e.g. `0o644`, `0o755`.
    pub(crate) mode: u32,
}

pub(crate) fn header() -> String {
    format!(
        "{MARKER} Do not edit: change the `sriov` section of the install config and run\n\
         # `harvester-sriov apply --config FILE`, or `harvester-sriov remove` to take it all out.\n"
    )
}

fn spec(path: &str, text: String, mode: u32) -> FileSpec {
    FileSpec {
        path: PathBuf::from(path),
        contents: text.into_bytes(),
        mode,
    }
}

pub(crate) fn modprobe(plan: &Plan) -> Option<String> {
    let mut lines = vec![];
    // pcidevices binds VFs itself and unbinds, at its start, every VF on
    // vfio-pci without a claim (harvester/pcidevices:
    // pkg/controller/pcideviceclaim/pcideviceclaim_controller.go): no ids here.
    if plan.device_type == DeviceType::VfioPci
        && plan.operator != Operator::Pcidevices
        && !plan.pfs.is_empty()
    {
        let mut ids: Vec<String> = plan
            .pfs
            .iter()
            .map(|p| format!("{}:{}", p.vendor_id, p.vf_device_id))
            .collect();
        ids.sort();
        ids.dedup();
        lines
            .push("# VFs go to vfio-pci (VM passthrough) before their network driver can claim them.".into());
        lines.push(format!("options vfio-pci ids={}", ids.join(",")));
        let mut vf_drivers: Vec<&str> = plan.pfs.iter().filter_map(|p| p.vf_driver.as_deref()).collect();
        vf_drivers.sort();
        vf_drivers.dedup();
        for d in vf_drivers {
            lines.push(format!("softdep {d} pre: vfio-pci"));
        }
    }
    // Module parameters only where sysfs cannot do it (mlx4_core). A driver-wide
    // max_vfs (igb, ixgbe) would also give VFs to every other port of that
    // driver, the management NIC included: sysfs per PF is used instead.
    let mut params: BTreeMap<&str, u16> = BTreeMap::new();
    for p in plan.pfs.iter().filter(|p| p.method == Method::ModuleParam) {
        let n = params.entry(p.driver.as_str()).or_default();
        *n = (*n).max(p.num_vfs);
    }
    for (driver, n) in params {
        lines.push(format!("# {driver} creates VFs only from its module parameter."));
        lines.push(format!("options {driver} num_vfs={n} probe_vf=0"));
    }
    (!lines.is_empty()).then(|| format!("{}{}\n", header(), lines.join("\n")))
}

pub(crate) fn labels(plan: &Plan) -> Option<String> {
    let mut all = plan.labels.clone();
    // The labels the cluster-wide policies select this node by.
    all.extend(handoff::node_labels(plan));
    if all.is_empty() {
        return None;
    }
    let list: Vec<String> = all.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // `node-label+` appends to Harvester's own labels instead of replacing them.
    Some(format!(
        "{}{}",
        header(),
        yaml::to_string(&json!({ "node-label+": list }))
    ))
}

/// The hand-off files: (path, bytes), one per manifest file name
/// ([`handoff::files`] decides the names and objects).
pub(crate) fn manifests(plan: &Plan) -> Vec<FileSpec> {
    handoff::files(plan)
        .into_iter()
        .map(|(path, objects)| {
            let docs: Vec<String> = objects.iter().map(yaml::to_string).collect();
            FileSpec {
                path,
                contents: format!("{}---\n{}", header(), docs.join("---\n")).into_bytes(),
                mode: 0o600,
            }
        })
        .collect()
}

/// The systemd unit that creates the VFs at every boot, after the PF
/// drivers are bound and before rke2 (kubelet) starts. A failure does not
/// hold rke2 back (ordering only); `journalctl -u harvester-sriov` has the log.
pub(crate) fn unit() -> String {
    format!(
        "{}\
[Unit]
Description=harvester-sriov: create the planned SR-IOV VFs before rke2 starts
After=systemd-modules-load.service systemd-udev-trigger.service systemd-udev-settle.service
Before=rke2-server.service rke2-agent.service
ConditionPathExists={STATE_PATH}
ConditionPathExists={BINARY_PATH}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={BINARY_PATH} boot --state {STATE_PATH}

[Install]
WantedBy=multi-user.target
",
        header()
    )
}

/// When the plan has per-VF settings: every VF's `add` runs `vf-added`, so
/// a VF gets its settings whoever creates it and whenever (the pcidevices
/// agent, the UI, a write to `sriov_numvfs`). `TEST=="physfn"`: VFs only.
/// No shell: udev runs the binary with the arguments as written, `%k` the
/// kernel's name of the device (its PCI address).
pub(crate) fn udev_rule() -> String {
    format!(
        "{}\
# Per-VF settings for every VF of a PF harvester-sriov planned, whoever creates it.
ACTION==\"add\", SUBSYSTEM==\"pci\", TEST==\"physfn\", RUN+=\"{BINARY_PATH} vf-added --kmsg --state {STATE_PATH} %k\"
",
        header()
    )
}

/// With pcidevices, rke2-server runs `handoff --before-rke2-start` before
/// every start. rke2's deploy controller applies every manifest again at each
/// start (k3s-io/k3s:pkg/deploy/controller.go, first pass forced) with a
/// three-way patch that reverts live edits (rancher/wrangler:pkg/apply/
/// desiredset_compare.go `doPatch`): the install-time `numVFs` would be
/// written back over a count changed in the UI, and pcidevices would then
/// write it over the VFs present without 0 first (EBUSY on every pass). The
/// `-` prefix: a failure of ours never stops rke2.
pub(crate) fn rke2_dropin() -> String {
    format!(
        "{}\
[Service]
ExecStartPre=-{BINARY_PATH} handoff --before-rke2-start
",
        header()
    )
}

/// yip expands Go templates in every file's content
/// (mudler/yip:`pkg/plugins/files.go` `writeFile` -> `templateSysData`, text/template
/// with the default `{{ }}` delimiters). `{{` becomes the action `{{"{{"}}`,
/// which prints `{{`; any other text is printed as it is.
pub(crate) fn escape_template(text: &str) -> String {
    text.replace("{{", "{{\"{{\"}}")
}

/// The yip file under /oem: its `initramfs` stage writes every
/// [`materialised`] file and enables the unit. No `boot` stage: its unit is
/// ordered before getty only, not before rke2.
pub(crate) fn yip(materialised: &[FileSpec]) -> String {
    let files: Vec<Value> = materialised
        .iter()
        .map(|f| {
            json!({
                "path": f.path.display().to_string(),
                "permissions": f.mode,
                "owner": 0,
                "group": 0,
                "content": escape_template(&String::from_utf8_lossy(&f.contents)),
            })
        })
        .collect();
    let mut step = serde_json::Map::new();
    step.insert(
        "name".into(),
        json!(
            "harvester-sriov: write its files outside /oem (tmpfs /etc, persistent bind mounts) at every boot"
        ),
    );
    step.insert("files".into(), Value::Array(files));
    if materialised.iter().any(|f| f.path == Path::new(UNIT_PATH)) {
        step.insert("systemctl".into(), json!({"enable": [UNIT_NAME]}));
    }
    format!(
        "{}{}",
        header(),
        yaml::to_string(&json!({"name": "harvester-sriov", "stages": {"initramfs": [Value::Object(step)]}}))
    )
}

/// The files outside /oem a node with this plan needs, as the yip file
/// writes them at every boot (and `apply --now` on a running node).
pub(crate) fn materialised(plan: &Plan) -> Vec<FileSpec> {
    let mut out = vec![];
    if let Some(t) = modprobe(plan) {
        out.push(spec(MODPROBE_PATH, t, 0o644));
    }
    if let Some(t) = labels(plan) {
        out.push(spec(LABELS_PATH, t, 0o644));
    }
    if plan.pfs.iter().any(|p| !p.vfs.is_empty()) {
        out.push(spec(UDEV_RULE_PATH, udev_rule(), 0o644));
    }
    if let Some(t) = networkmanager::conf(plan) {
        out.push(spec(NM_CONF_PATH, t, 0o644));
    }
    // the hand-off files, whatever their names (`remove` finds them in the installed yip file)
    out.extend(manifests(plan));
    if !plan.pfs.is_empty() {
        out.push(spec(UNIT_PATH, unit(), 0o644));
    }
    if plan.operator == Operator::Pcidevices
        && out
            .iter()
            .any(|f| f.path.starts_with(crate::layout::MANIFEST_DIR))
    {
        out.push(spec(RKE2_DROPIN_PATH, rke2_dropin(), 0o644));
    }
    out
}

/// The files under /oem: the yip file, the state, and (when VFs are
/// planned) the tool itself for the unit to run. `binary` is its bytes.
pub(crate) fn files(plan: &Plan, binary: &[u8]) -> Result<Vec<FileSpec>, serde_json::Error> {
    let materialised = materialised(plan);
    let mut out = vec![spec(STATE_PATH, crate::state::render(plan)?, 0o600)];
    if !plan.pfs.is_empty() {
        out.push(FileSpec {
            path: PathBuf::from(BINARY_PATH),
            contents: binary.to_vec(),
            mode: 0o755,
        });
    }
    if !materialised.is_empty() {
        out.push(spec(YIP_PATH, yip(&materialised), 0o600));
    }
    Ok(out)
}

/// The paths of the files an installed yip file of ours writes (so that
/// `remove` finds them even when an older or newer version named them
/// differently). Anything unreadable gives an empty list.
pub(crate) fn paths_in_yip(text: &str) -> Vec<PathBuf> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return vec![];
    };
    let mut out = vec![];
    for stage in ["initramfs", "boot"] {
        let Some(steps) = doc
            .get("stages")
            .and_then(|s| s.get(stage))
            .and_then(|s| s.as_sequence())
        else {
            continue;
        };
        for step in steps {
            for f in step
                .get("files")
                .and_then(|f| f.as_sequence())
                .into_iter()
                .flatten()
            {
                if let Some(p) = f.get("path").and_then(|p| p.as_str())
                    && p.starts_with('/')
                    && !p.starts_with("/oem")
                {
                    out.push(PathBuf::from(p));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_with(pfs: bool) -> Plan {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cases/apply/sno-vfio-sriov-operator/out/oem/harvester-sriov/state.json"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut plan: Plan = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        if !pfs {
            plan.pfs.clear();
        }
        plan
    }

    #[test]
    fn escape_template_turns_every_open_into_an_action_printing_it() {
        assert_eq!(escape_template("no braces"), "no braces");
        assert_eq!(escape_template("a {{ b }} c"), "a {{\"{{\"}} b }} c");
        assert_eq!(escape_template("{{{{"), "{{\"{{\"}}{{\"{{\"}}");
        assert_eq!(escape_template("{ { }}"), "{ { }}");
    }

    #[test]
    fn the_yip_file_is_the_only_yaml_under_oem_and_has_no_boot_stage() {
        let plan = plan_with(true);
        let files = files(&plan, b"bin").unwrap_or_else(|e| panic!("{e}"));
        let under_oem_yaml: Vec<_> = files
            .iter()
            .filter(|f| f.path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .map(|f| f.path.clone())
            .collect();
        assert_eq!(under_oem_yaml, [PathBuf::from(YIP_PATH)]);
        assert!(files.iter().all(|f| f.path.starts_with("/oem")));
        let yip = files
            .iter()
            .find(|f| f.path == Path::new(YIP_PATH))
            .map(|f| &f.contents);
        let doc: serde_yaml::Value = serde_yaml::from_slice(yip.unwrap_or_else(|| panic!("no yip file")))
            .unwrap_or_else(|e| panic!("{e}"));
        let stages = doc["stages"].as_mapping().unwrap_or_else(|| panic!("stages"));
        assert_eq!(stages.len(), 1, "initramfs only: {stages:?}");
        let step = &doc["stages"]["initramfs"][0];
        assert_eq!(step["systemctl"]["enable"][0].as_str(), Some(UNIT_NAME));
        let paths: Vec<&str> = step["files"]
            .as_sequence()
            .unwrap_or_else(|| panic!("files"))
            .iter()
            .filter_map(|f| f["path"].as_str())
            .collect();
        assert_eq!(paths.first(), Some(&MODPROBE_PATH));
        assert_eq!(paths.get(1), Some(&LABELS_PATH));
        assert_eq!(paths.last(), Some(&UNIT_PATH));
        assert!(
            paths[2..paths.len() - 1]
                .iter()
                .all(|p| p.starts_with(crate::layout::MANIFEST_DIR)),
            "{paths:?}"
        );
        assert_eq!(
            paths_in_yip(&String::from_utf8_lossy(yip.unwrap_or_else(|| panic!()))),
            paths.iter().map(PathBuf::from).collect::<Vec<_>>()
        );
    }

    #[test]
    fn without_vfs_no_unit_no_binary() {
        let plan = plan_with(false);
        let files = files(&plan, b"bin").unwrap_or_else(|e| panic!("{e}"));
        assert!(!files.iter().any(|f| f.path == Path::new(BINARY_PATH)));
        assert!(!materialised(&plan).iter().any(|f| f.path == Path::new(UNIT_PATH)));
        let yip = files
            .iter()
            .find(|f| f.path == Path::new(YIP_PATH))
            .map(|f| f.contents.clone());
        let text = String::from_utf8(yip.unwrap_or_default()).unwrap_or_default();
        assert!(!text.contains("systemctl"), "{text}");
    }

    #[test]
    fn the_unit_runs_boot_before_rke2() {
        let u = unit();
        for line in [
            "Type=oneshot",
            "RemainAfterExit=yes",
            "ExecStart=/oem/harvester-sriov/harvester-sriov boot --state /oem/harvester-sriov/state.json",
            "Before=rke2-server.service rke2-agent.service",
            "WantedBy=multi-user.target",
        ] {
            assert!(u.lines().any(|l| l == line), "{line} missing:\n{u}");
        }
        assert!(
            u.lines()
                .any(|l| l.starts_with("After=") && l.contains("systemd-udev-settle.service"))
        );
    }
}
