//! Command-line flags, parsed by clap. Validation into the immutable
//! configuration happens in the library, not here.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "harvester-sriov",
    version,
    about = "Make SR-IOV NICs usable by VMs on Harvester nodes, decided once at install time",
    long_about = "Make SR-IOV NICs usable by VMs on Harvester nodes, decided once at install time.\n\n\
        Detects SR-IOV capable PCI functions the way `lspci -v | grep SR-IOV` does, cross-checked \
        with the kernel's sysfs, and writes what a Harvester node needs to recreate its VFs at every boot.",
    after_help = "Exit codes: 0 success; 1 detect: no SR-IOV PF found, verify: a difference from the plan, \
        boot: a PF not as planned; 2 error (nothing changed); 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// The stable JSON contract (see README).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List SR-IOV capable PCI functions (like `lspci -v | grep SR-IOV`) with the kernel's view.
    Detect {
        /// Root of a sysfs mount; devices are read from DIR/bus/pci/devices.
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// List every PCI function, not only SR-IOV physical functions.
        #[arg(long)]
        all: bool,
    },

    /// Show what `apply` would do for an install config, with a diff against the target. Writes nothing.
    Plan {
        /// A Harvester install config.yaml with an `sriov:` section.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs: PathBuf,
        /// Root of the installed system.
        #[arg(long, value_name = "ROOT", default_value = "/")]
        target: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write the node's SR-IOV files (cloud-init, state, modprobe.d, labels, operator manifests) into the target.
    Apply {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs: PathBuf,
        #[arg(long, value_name = "ROOT", default_value = "/")]
        target: PathBuf,
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create the planned VFs now (run at every boot by the cloud-init file).
    Boot {
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs: PathBuf,
        #[arg(long, value_name = "FILE", default_value = "/oem/harvester-sriov/state.yaml")]
        state: PathBuf,
        /// Seconds to wait for a PF's driver to appear.
        #[arg(long, value_name = "SECS", default_value_t = 30)]
        wait: u64,
    },
    /// Ask at the console which NICs get how many VFs, then write as `apply` does.
    ///
    /// Needs a terminal on stdin; Ctrl-C or Esc writes nothing (exit 130).
    Configure {
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs: PathBuf,
        #[arg(long, value_name = "ROOT", default_value = "/")]
        target: PathBuf,
        /// An install config to pre-fill the answers (and take the management NIC from).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Also write the answers as an unattended `sriov:` section (also with --dry-run).
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
        /// Show what would change; write nothing into the target.
        #[arg(long)]
        dry_run: bool,
    },
    /// Installer hook (os.after_install_chroot_commands): apply the install config's `sriov` section.
    ///
    /// The config is FILE, else ROOT/oem/harvester.config, else ROOT/oem/userdata.yaml.
    /// Warnings exit 0 (a non-zero exit aborts the Harvester installation) unless --strict.
    Hook {
        /// The install config; default: looked up under --target.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs: PathBuf,
        #[arg(long, value_name = "ROOT", default_value = "/")]
        target: PathBuf,
        /// Treat warnings (a rule matching nothing, no usable NIC) as failures: exit 2, write nothing.
        #[arg(long)]
        strict: bool,
    },
    /// Remove exactly what `apply` wrote.
    Remove {
        #[arg(long, value_name = "ROOT", default_value = "/")]
        target: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare the node with the plan: VF counts, VF drivers, the files in the target.
    Verify {
        #[arg(long, value_name = "DIR", default_value = "/sys")]
        sysfs: PathBuf,
        /// The state written by `apply` (default: ROOT/oem/harvester-sriov/state.yaml).
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        #[arg(long, value_name = "ROOT", default_value = "/")]
        target: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}
