//! Command-line flags, parsed by clap: what was typed, nothing more. `run`
//! turns each subcommand's flags into that command's options value, once
//! (`From`/`TryFrom` in `commands/`: e.g. `commands::boot::Options`, with the
//! state to read and the wait as a `Duration`); the command and everything
//! after it read only that value. No module past `commands/` sees these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "harvester-sriov",
    version,
    about = "Make SR-IOV NICs usable by VMs on Harvester nodes, decided once at install time",
    long_about = "Make SR-IOV NICs usable by VMs on Harvester nodes, decided once at install time.\n\n\
        Detects SR-IOV capable PCI functions the way `lspci -v | grep SR-IOV` does, cross-checked \
        with the kernel's sysfs, and writes what a Harvester node needs to recreate its VFs at every boot.",
    after_help = "Exit codes: 0 success; 1 detect: no SR-IOV PF found, verify: a difference from the plan, \
        boot: a PF not as planned, fleet-check: a MAC shared by two functions; 2 error (nothing changed, but for `hook`: its hook.log line); 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// The stable JSON contract (docs/commands.md, "JSON output").
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List SR-IOV capable PCI functions (like `lspci -v | grep SR-IOV`) with the kernel's view.
    Detect(DetectArgs),
    /// Show what `apply` would do for an install config, with a diff against the target. Writes nothing.
    Plan(PlanArgs),
    /// Write the node's SR-IOV files under ROOT/oem (the yip file, the state, the tool itself).
    ///
    /// Everything outside /oem (modprobe.d, the rke2 label file, the manifests, the systemd unit)
    /// is written by the yip file at every boot; --now also writes it and runs the unit's work now
    /// (it creates the VFs, except with operator pcidevices, whose agent creates them).
    Apply(ApplyArgs),
    /// Put the planned VFs in place now (run at every boot by harvester-sriov.service, the unit the yip
    /// file writes; with operator pcidevices it only checks the PFs).
    Boot(BootArgs),
    /// Ask at the console which NICs get how many VFs, then write as `apply` does.
    ///
    /// Needs a terminal on stdin; Ctrl-C or Esc writes nothing (exit 130).
    Configure(ConfigureArgs),
    /// Installer hook (os.after_install_chroot_commands): apply the install config's `sriov` section.
    ///
    /// The config is --config FILE, else --config-url URL, else the URL in
    /// $HARVESTER_STREAMDISK_CLOUDINIT_URL (the installer's install.config_url), fetched with curl.
    /// Every run is appended to ROOT/oem/harvester-sriov/hook.log: the installer ignores the exit
    /// status and the output of these commands, so the log is the record. Exit 0: applied, or
    /// nothing to do (no URL, no sriov section); 2: nothing written (bad config, failed download,
    /// --strict with warnings).
    Hook(HookArgs),
    /// Print this node's hand-off objects (from its state) for `kubectl apply -f -`.
    ///
    /// rke2 applies the manifests directory on server nodes only: on a join
    /// (agent) node, pipe this into `kubectl apply -f -` with cluster access.
    Handoff(HandoffArgs),
    /// Remove exactly what `apply` wrote, and say what stays in the cluster.
    Remove(RemoveArgs),
    /// Compare the node with the plan: VF counts, VF drivers, the files in the target.
    Verify(VerifyArgs),
    /// Give one new VF its planned per-VF settings (run by the udev rule the yip file writes,
    /// on every VF's `add`, whoever created it: the pcidevices agent, the UI, a write to
    /// sriov_numvfs). Never waits; a failure is logged (--kmsg: to the kernel log) and exits 1.
    VfAdded(VfAddedArgs),
    /// Before a fleet's install: plan one install config on every node from its
    /// `detect --format json`, and report every MAC two functions would share and
    /// every rule that matches nothing on a node. Exit 1 on a shared MAC.
    FleetCheck(FleetCheckArgs),
}

// The flags of `detect`, as typed; `commands::detect::Options` is built from them.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Root of a sysfs mount; devices are read from DIR/bus/pci/devices.
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// List every PCI function, not only SR-IOV physical functions.
    #[arg(long)]
    pub all: bool,
}

// The flags of `plan`, as typed; `commands::apply::PlanOptions` is built from them.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A Harvester install config.yaml with an `sriov:` section.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    /// Root of the installed system.
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

// The flags of `apply`, as typed; `commands::apply::ApplyOptions` is built from them.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// On a running node: also write the files outside /oem (as the yip file does at every boot)
    /// and run what the unit runs at boot: create the VFs now (operator sriov-network-operator or
    /// none); with operator pcidevices only check the PFs, as the pcidevices agent creates the VFs.
    #[arg(long)]
    pub now: bool,
}

/// `boot --wait`'s default, and the wait of `apply --now`, which runs `boot`.
pub const DEFAULT_BOOT_WAIT_SECS: u64 = 30;

// The flags of `boot`, as typed; `commands::boot::Options` is built from them.
#[derive(Debug, Args)]
pub struct BootArgs {
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    /// The state written by `apply` [default: /oem/harvester-sriov/state.json; an older
    /// version's state.yaml there is read with a notice].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seconds to wait for a PF's driver to appear, and for udev to name its interface (where
    /// udev runs: it may rename the interface after the driver registered it).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_BOOT_WAIT_SECS)]
    pub wait: u64,
    /// The node's root: when a planned PF has another name or PCI address at this boot (an
    /// upgrade renamed it), its state, /oem files and hand-off there are rewritten for it, as
    /// `apply --now` would. Only when the state read is ROOT's own.
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
}

// The flags of `handoff`, as typed; `commands::handoff::Options` is built from them.
#[derive(Debug, Args)]
pub struct HandoffArgs {
    /// The state written by `apply` [default: ROOT/oem/harvester-sriov/state.json; an older
    /// version's state.yaml there is read].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Root of the node's file system (where the manifests directory and /oem are).
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
    /// Run by rke2-server's ExecStartPre (pcidevices): let rke2 apply this node's hand-off
    /// file at its first start with that content, and skip it (`FILE.skip`) at every later
    /// start, so that a count changed in the UI is not patched back. Prints nothing for kubectl.
    #[arg(long)]
    pub before_rke2_start: bool,
}

// The flags of `configure`, as typed; `commands::configure::Options` is built from them.
#[derive(Debug, Args)]
pub struct ConfigureArgs {
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
    /// An install config to pre-fill the answers (and take the management NIC from).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also write the answers as an unattended `sriov:` section (also with --dry-run).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Show what would change; write nothing into the target.
    #[arg(long)]
    pub dry_run: bool,
    /// On a running node: also write the files outside /oem (as the yip file does at every boot)
    /// and run what the unit runs at boot: create the VFs now (operator sriov-network-operator or
    /// none); with operator pcidevices only check the PFs, as the pcidevices agent creates the VFs.
    #[arg(long)]
    pub now: bool,
}

// The flags of `hook`, as typed; `commands::hook::Options` is built from them.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The install config file (instead of fetching the URL).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Fetch the install config from URL [default: $HARVESTER_STREAMDISK_CLOUDINIT_URL].
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    pub config_url: Option<String>,
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
    /// Treat warnings (a rule matching nothing, no usable NIC) as failures: write nothing, exit 2.
    /// It cannot stop the installation (nothing checks the exit status): hook.log says why.
    #[arg(long)]
    pub strict: bool,
}

// The flags of `remove`, as typed; `commands::apply::RemoveOptions` is built from them.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Root of the node's file system to remove from (/oem and the copies outside it are under it).
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
    /// Show what would be removed and what stays; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

// The flags of `verify`, as typed; `commands::verify::Options` is built from them.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    /// The state written by `apply` (default: ROOT/oem/harvester-sriov/state.json).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    #[arg(long, value_name = "ROOT", default_value = "/")]
    pub target: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

// The flags of `vf-added`, as typed; `commands::vf_added::Options` is built from them.
#[derive(Debug, Args)]
pub struct VfAddedArgs {
    /// The new VF's PCI address (udev's %k).
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs: PathBuf,
    /// The state written by `apply` [default: /oem/harvester-sriov/state.json].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Also write the line to /dev/kmsg, where the journal finds it (udev keeps a program's
    /// output only at debug level).
    #[arg(long)]
    pub kmsg: bool,
}

// The flags of `fleet-check`, as typed; `commands::fleet_check::Options` is built from them.
#[derive(Debug, Args)]
pub struct FleetCheckArgs {
    /// The install config.yaml the fleet is installed with (its `sriov:` section).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// One node's `detect --format json` output: NAME=FILE, or FILE, named after the
    /// file without its `.json` (`node-1.json` is node `node-1`).
    #[arg(value_name = "NODE", required = true)]
    pub nodes: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}
