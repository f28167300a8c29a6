//! `configure`: the prompt for a person at the installer console.
//!
//! It asks, builds an `sriov` section from the answers, and hands it to the
//! same [`Pipeline`] and [`apply::write_out`] as `apply --config`. Nothing is
//! written before the last confirmation, so Ctrl-C or Esc at any question
//! leaves the target (and `--save`) untouched.
//!
//! The questions go through [`Prompter`]: dialoguer on a terminal, a script
//! in the unit tests.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;

use crate::ExitCode;
use crate::apply::{self, Pipeline};
use crate::config::{self, DeviceType, InstallConfig, Match, Operator, Rule, Sriov};
use crate::device::Device;
use crate::plan;
use crate::sysfs::{self, Inventory, ScanOptions};

/// Set after the last confirmation: a SIGINT no longer cancels.
static WRITING: AtomicBool = AtomicBool::new(false);

/// First line of every answers file; `--save` only overwrites such files.
pub const ANSWERS_MARKER: &str = "# harvester-sriov answers";

/// The questions. Every method returns `Ok(None)` when the person cancels
/// (Esc); an error of kind `Interrupted` (Ctrl-C) is a cancel too.
pub trait Prompter {
    fn confirm(&mut self, prompt: &str, default: bool) -> io::Result<Option<bool>>;
    /// Indices of the chosen items.
    fn select_many(
        &mut self,
        prompt: &str,
        items: &[String],
        checked: &[bool],
    ) -> io::Result<Option<Vec<usize>>>;
    /// A number, re-asked until `validate` accepts the text.
    fn input_count(
        &mut self,
        prompt: &str,
        default: u16,
        validate: &dyn Fn(&str) -> Result<u16, String>,
    ) -> io::Result<Option<u16>>;
    fn select_one(&mut self, prompt: &str, items: &[String], default: usize) -> io::Result<Option<usize>>;
}

pub struct Options {
    pub sysfs: PathBuf,
    pub target: PathBuf,
    pub config: Option<PathBuf>,
    pub save: Option<PathBuf>,
    pub dry_run: bool,
}

/// The wizard either finished with answers or was cancelled.
enum Flow<T> {
    Go(T),
    Cancel,
}

/// Unwrap one answer, turning Esc (`None`) and Ctrl-C (`Interrupted`) into a cancel.
macro_rules! ask {
    ($e:expr) => {
        match $e {
            Ok(Some(v)) => v,
            Ok(None) => return Ok(Flow::Cancel),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Flow::Cancel),
            Err(e) => return Err(anyhow::Error::from(e).context("reading the answer")),
        }
    };
}

/// Ask for one of `options` (value, label), `current` preselected.
fn choose<T: Copy + PartialEq>(
    p: &mut dyn Prompter,
    prompt: &str,
    options: &[(T, &str)],
    current: T,
) -> io::Result<Option<T>> {
    let labels: Vec<String> = options.iter().map(|(_, label)| (*label).to_owned()).collect();
    let default = options.iter().position(|(v, _)| *v == current).unwrap_or(0);
    Ok(p.select_one(prompt, &labels, default)?
        .map(|i| options[i.min(options.len() - 1)].0))
}

/// One SR-IOV NIC as the prompt shows it.
struct Nic<'a> {
    dev: &'a Device,
    /// `None`: can get VFs. `Some`: why not (management NIC, status + hint).
    unusable: Option<String>,
    management: bool,
}

/// Cut to a column with an ASCII `~`: a serial console may not show `…`.
fn cut(s: &str, width: usize) -> String {
    crate::report::cut(s, width, '~')
}

fn speed(d: &Device) -> String {
    match d.speed_mbps {
        Some(m) if m >= 1000 && m % 1000 == 0 => format!("{}G", m / 1000),
        Some(m) => format!("{m}M"),
        None => "-".into(),
    }
}

fn iface(d: &Device) -> &str {
    d.interfaces.first().map_or("-", String::as_str)
}

/// The table of SR-IOV NICs, at most 79 columns wide, then why each
/// unusable one cannot be used.
fn nic_table(nics: &[Nic]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<10} {:<12} {:<24} {:<9} {:>5} {:>7}",
        "INTERFACE", "ADDRESS", "MODEL", "DRIVER", "SPEED", "VFS now/max"
    );
    for n in nics {
        let d = n.dev;
        let addr = d.address.strip_prefix("0000:").unwrap_or(&d.address);
        let _ = writeln!(
            s,
            "{:<10} {:<12} {:<24} {:<9} {:>5} {:>5}/{}",
            cut(iface(d), 10),
            addr,
            cut(&format!("{} {}", short_vendor(d), d.device_name()), 24),
            cut(d.driver.as_deref().unwrap_or("-"), 9),
            speed(d),
            d.kernel_num(),
            d.kernel_total()
        );
    }
    let unusable: Vec<&Nic> = nics.iter().filter(|n| n.unusable.is_some()).collect();
    if !unusable.is_empty() {
        let _ = writeln!(s, "Not offered:");
        for n in unusable {
            let _ = writeln!(
                s,
                "  {} {}: {}",
                n.dev.address,
                iface(n.dev),
                n.unusable.as_deref().unwrap_or_default()
            );
        }
    }
    s
}

fn short_vendor(d: &Device) -> String {
    let v = d.vendor_name();
    v.split([' ', ',']).next().unwrap_or(&v).to_owned()
}

/// What a prior config says, to pre-fill the answers.
struct Prefill {
    enabled: bool,
    sriov: Sriov,
    /// VFs per address from the prior config's plan.
    /// `None` when the prior config does not plan on this node.
    counts: Option<Vec<(String, u16)>>,
}

/// The answers, as the `sriov` section `apply` would read.
pub fn answers_to_sriov(
    base: &Sriov,
    enabled: bool,
    device_type: DeviceType,
    operator: Operator,
    chosen: &[(String, u16)],
    not_chosen: &[String],
) -> Sriov {
    let mut s = base.clone();
    s.enabled = enabled;
    s.device_type = device_type;
    s.operator = operator;
    s.devices = chosen
        .iter()
        .map(|(a, n)| Rule {
            matcher: Match {
                address: Some(a.clone()),
                ..Match::default()
            },
            num_vfs: Some(*n),
            ..Rule::default()
        })
        .chain(not_chosen.iter().map(|a| Rule {
            matcher: Match {
                address: Some(a.clone()),
                ..Match::default()
            },
            enabled: Some(false),
            ..Rule::default()
        }))
        .collect();
    if !enabled {
        s.devices.clear();
    }
    s
}

/// The answers file: an unattended `sriov:` section, YAML 1.1 safe.
pub fn render_answers(s: &Sriov) -> anyhow::Result<String> {
    let mut sec = serde_json::Map::new();
    sec.insert("enabled".into(), s.enabled.into());
    sec.insert("num_vfs".into(), s.num_vfs.into());
    sec.insert("device_type".into(), s.device_type.as_str().into());
    sec.insert("resource_name".into(), s.resource_name.clone().into());
    if let Some(m) = s.mtu {
        sec.insert("mtu".into(), m.into());
    }
    sec.insert("operator".into(), s.operator.as_str().into());
    if !s.label_capable {
        sec.insert("label_capable".into(), false.into());
    }
    if !s.labels.is_empty() {
        sec.insert("labels".into(), serde_json::to_value(&s.labels)?);
    }
    if !s.devices.is_empty() {
        sec.insert("devices".into(), serde_json::to_value(&s.devices)?);
    }
    let doc = serde_json::json!({ "sriov": sec });
    Ok(format!(
        "{ANSWERS_MARKER}, written by `harvester-sriov configure --save`.\n\
         # An unattended `sriov:` section: `harvester-sriov apply --config FILE` or\n\
         # `harvester-sriov hook --config FILE` reads it, or paste it into a Harvester config.yaml.\n\
         # Per-NIC rules match by PCI address: on other nodes, NICs no rule names get num_vfs.\n{}",
        crate::yaml::to_string(&doc)
    ))
}

/// `--save` may create a file or replace an earlier answers file, nothing else.
fn check_save_path(path: &Path) -> anyhow::Result<()> {
    match std::fs::read(path) {
        Ok(old) if old.starts_with(ANSWERS_MARKER.as_bytes()) => Ok(()),
        Ok(_) => anyhow::bail!(
            "--save {}: the file exists and is not a harvester-sriov answers file: refusing to overwrite it",
            path.display()
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::from(e).context(format!("--save {}", path.display()))),
    }
}

/// Write the answers through the same transactional writer as `apply`
/// (temp file, fsync, rename, directory fsync), over nothing but an earlier
/// answers file.
fn save_answers(path: &Path, text: &str) -> anyhow::Result<()> {
    check_save_path(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("--save {}: not a file name", path.display()))?;
    let spec = crate::fsx::FileSpec {
        path: Path::new("/").join(name),
        contents: text.as_bytes().to_vec(),
        mode: 0o644,
    };
    crate::fsx::commit(&dir, &[spec], &[], &|_, old| {
        old.starts_with(ANSWERS_MARKER.as_bytes())
    })
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The whole command on a real terminal.
pub fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if !io::stdin().is_terminal() {
        writeln!(
            err,
            "harvester-sriov configure: stdin is not a terminal, so there is nobody to ask; \
             for an unattended install use `harvester-sriov apply --config FILE` (or `hook`)"
        )?;
        return Ok(ExitCode::Error);
    }
    // Ctrl-C while the terminal is in raw mode reaches dialoguer as a key
    // (an `Interrupted` error); between two reads the terminal is cooked and
    // it arrives as SIGINT. Until the last confirmation nothing is written,
    // so then: one line, exit 130. Once writing has begun, it is let finish.
    catch_ctrl_c(err)?;
    let mut p = DialoguerPrompter::new();
    let code = run_with(opts, &mut p, out, err);
    // dialoguer hides the cursor in its lists; give it back whatever happened.
    let _ = dialoguer::console::Term::stderr().show_cursor();
    code
}

/// Make a SIGINT between two questions exit 130 with nothing written. If
/// the handler cannot be installed, say so: Ctrl-C then still stops the
/// program (nothing is written before the last confirmation), but with the
/// default signal exit instead of the message and 130.
fn catch_ctrl_c(err: &mut dyn Write) -> io::Result<()> {
    let installed = ctrlc::set_handler(|| {
        if !WRITING.load(Ordering::SeqCst) {
            let _ = dialoguer::console::Term::stderr().show_cursor();
            eprintln!("\nharvester-sriov configure: cancelled, nothing written");
            std::process::exit(i32::from(ExitCode::Interrupted.code()));
        }
    });
    if let Err(e) = installed {
        writeln!(
            err,
            "warning: cannot catch Ctrl-C ({e}): Ctrl-C between questions ends the program without the usual message"
        )?;
    }
    Ok(())
}

/// The command with any [`Prompter`]: scan, ask, confirm, write.
pub fn run_with(
    opts: &Options,
    p: &mut dyn Prompter,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let cfg = match &opts.config {
        Some(f) => config::load(f)?,
        None => InstallConfig {
            file: PathBuf::from("(configure)"),
            ..InstallConfig::default()
        },
    };
    if let Some(s) = &opts.save {
        check_save_path(s)?;
    }
    let inventory = sysfs::scan(&opts.sysfs, ScanOptions::default())?;
    match wizard(&inventory, &cfg, p, out)? {
        Flow::Cancel => {
            writeln!(err, "harvester-sriov configure: cancelled, nothing written")?;
            Ok(ExitCode::Interrupted)
        }
        Flow::Go(None) => Ok(ExitCode::Success),
        Flow::Go(Some(sriov)) => {
            let pl = Pipeline::from_inventory(inventory, &cfg, &sriov)?;
            writeln!(out, "\nThe plan:")?;
            out.write_all(apply::describe(&pl.plan).as_bytes())?;
            for w in &pl.plan.warnings {
                writeln!(out, "warning: {w}")?;
            }
            out.flush()?;
            let q = if opts.dry_run {
                "Show the files (dry run, nothing written)?".to_owned()
            } else {
                format!("Write these files into {}?", opts.target.display())
            };
            let yes = match p.confirm(&q, true) {
                Ok(Some(y)) => y,
                Ok(None) => false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                Err(e) => return Err(e.into()),
            };
            if !yes {
                writeln!(err, "harvester-sriov configure: cancelled, nothing written")?;
                return Ok(ExitCode::Interrupted);
            }
            // From here on, and only here, things are written.
            WRITING.store(true, Ordering::SeqCst);
            apply::write_out(&pl, &opts.target, opts.dry_run, out, err)?;
            if let Some(save) = &opts.save {
                save_answers(save, &render_answers(&sriov)?)?;
                writeln!(
                    out,
                    "answers saved to {} (use: harvester-sriov apply --config {})",
                    save.display(),
                    save.display()
                )?;
            }
            Ok(ExitCode::Success)
        }
    }
}

/// The questions. `Go(None)`: nothing to ask (no SR-IOV NIC).
fn wizard(
    inv: &Inventory,
    cfg: &InstallConfig,
    p: &mut dyn Prompter,
    out: &mut dyn Write,
) -> anyhow::Result<Flow<Option<Sriov>>> {
    let candidates: Vec<&Device> = inv
        .devices
        .iter()
        .filter(|d| d.is_sriov_pf() && d.physfn.is_none() && d.is_network())
        .collect();
    if candidates.is_empty() {
        writeln!(out, "No SR-IOV capable NIC found on this node.")?;
        let others: Vec<&Device> = inv
            .devices
            .iter()
            .filter(|d| d.is_sriov_pf() && d.physfn.is_none())
            .collect();
        for d in &others {
            writeln!(
                out,
                "  {} {} {}: not a NIC, only NICs get VFs",
                d.address,
                d.vendor_name(),
                d.device_name()
            )?;
        }
        writeln!(
            out,
            "Hints: turn on SR-IOV (and VT-d / AMD-Vi) in the BIOS and in the NIC's firmware;\n\
             boot with pci=realloc when VF BAR space is missing; `harvester-sriov detect --all`\n\
             lists every PCI function. Nothing to ask, nothing written."
        )?;
        return Ok(Flow::Go(None));
    }
    // Which NICs can get VFs, as the plan itself decides it.
    let probe = Sriov {
        enabled: true,
        ..Sriov::default()
    };
    let probe_plan = plan::build(&inv.devices, cfg, "probe", &probe)?;
    let nics: Vec<Nic> = candidates
        .iter()
        .map(|d| {
            let skipped = probe_plan.skipped.iter().find(|k| k.address == d.address);
            let management = skipped.is_some_and(|k| matches!(k.reason, plan::SkipReason::Management));
            Nic {
                dev: d,
                unusable: skipped.map(|k| {
                    if management {
                        "management NIC (install.management_interface): not offered".to_owned()
                    } else {
                        k.reason.to_string()
                    }
                }),
                management,
            }
        })
        .collect();
    writeln!(out, "SR-IOV capable NICs on this node:")?;
    out.write_all(nic_table(&nics).as_bytes())?;
    let eligible: Vec<&Nic> = nics.iter().filter(|n| n.unusable.is_none()).collect();
    if eligible.is_empty() {
        writeln!(
            out,
            "None of them can get VFs now (see above). Nothing to ask, nothing written."
        )?;
        return Ok(Flow::Go(None));
    }
    writeln!(out)?;
    out.flush()?;

    let mut prefill = None;
    if let Some(s) = &cfg.sriov {
        let probe = Sriov {
            enabled: true,
            label_capable: true,
            ..s.clone()
        };
        // A config whose section does not plan on this node still pre-fills
        // the settings; the per-NIC counts cannot come from it, and the
        // person is told why instead of silently getting the defaults.
        let counts = match plan::build(&inv.devices, cfg, "probe", &probe) {
            Ok(pl) => Some(pl.pfs.iter().map(|f| (f.address.clone(), f.num_vfs)).collect()),
            Err(e) => {
                writeln!(
                    out,
                    "note: the VF counts of {} are not offered as defaults: {e}",
                    cfg.file.display()
                )?;
                None
            }
        };
        prefill = Some(Prefill {
            enabled: s.enabled,
            sriov: s.clone(),
            counts,
        });
    }
    let base = prefill.as_ref().map_or_else(Sriov::default, |f| f.sriov.clone());

    let enabled = ask!(p.confirm(
        "Enable SR-IOV on this node?",
        prefill.as_ref().is_some_and(|f| f.enabled)
    ));
    if !enabled {
        writeln!(out, "SR-IOV stays disabled on this node.")?;
        return Ok(Flow::Go(Some(answers_to_sriov(
            &base,
            false,
            base.device_type,
            base.operator,
            &[],
            &[],
        ))));
    }

    let items: Vec<String> = eligible
        .iter()
        .map(|n| {
            format!(
                "{:<10} {} {:<22} max {}",
                cut(iface(n.dev), 10),
                n.dev.address,
                cut(&n.dev.device_name(), 22),
                n.dev.kernel_total()
            )
        })
        .collect();
    let checked: Vec<bool> = eligible
        .iter()
        .map(|n| {
            prefill
                .as_ref()
                .and_then(|f| f.counts.as_ref())
                .is_none_or(|c| c.iter().any(|(a, _)| *a == n.dev.address))
        })
        .collect();
    let picked = ask!(p.select_many("NICs to get VFs (space toggles, enter accepts)", &items, &checked));

    let mut chosen = vec![];
    let mut not_chosen: Vec<String> = nics
        .iter()
        .filter(|n| n.management)
        .map(|n| n.dev.address.clone())
        .collect();
    for (i, n) in eligible.iter().enumerate() {
        if !picked.contains(&i) {
            not_chosen.push(n.dev.address.clone());
            continue;
        }
        let total = n.dev.kernel_total();
        let default = prefill
            .as_ref()
            .and_then(|f| f.counts.as_ref()?.iter().find(|(a, _)| *a == n.dev.address))
            .map_or(total.min(config::DEFAULT_NUM_VFS), |(_, c)| *c)
            .clamp(1, total);
        let validate = move |s: &str| -> Result<u16, String> {
            match s.trim().parse::<u16>() {
                Ok(v) if (1..=total).contains(&v) => Ok(v),
                _ => Err(format!("enter a whole number from 1 to {total}")),
            }
        };
        let count = ask!(p.input_count(
            &format!("VFs on {} ({}), 1-{total}", iface(n.dev), n.dev.address),
            default,
            &validate
        ));
        chosen.push((n.dev.address.clone(), count));
    }
    if chosen.is_empty() {
        writeln!(out, "No NIC chosen: no VFs will be created.")?;
    }

    let device_type = ask!(choose(
        p,
        "Device type of the VFs",
        &[
            (DeviceType::VfioPci, "vfio-pci (VMs, passthrough)"),
            (DeviceType::Netdevice, "netdevice (kernel network driver)"),
        ],
        base.device_type
    ));
    let operator = ask!(choose(
        p,
        "Hand the VFs over to",
        &[
            (Operator::SriovNetworkOperator, "sriov-network-operator"),
            (Operator::Pcidevices, "pcidevices (Harvester addon)"),
            (Operator::None, "none (only create VFs at boot)"),
        ],
        base.operator
    ));
    let mut sriov = answers_to_sriov(&base, true, device_type, operator, &chosen, &not_chosen);
    // The operator needs the capable label to select the node.
    if sriov.operator == Operator::SriovNetworkOperator {
        sriov.label_capable = true;
    }
    Ok(Flow::Go(Some(sriov)))
}

/// The questions on a terminal, with dialoguer's plain ASCII theme: no
/// colours at all (so `NO_COLOR` holds), readable on a serial console.
pub struct DialoguerPrompter {
    theme: dialoguer::theme::SimpleTheme,
}

impl DialoguerPrompter {
    pub fn new() -> Self {
        DialoguerPrompter {
            theme: dialoguer::theme::SimpleTheme,
        }
    }
}

impl Default for DialoguerPrompter {
    fn default() -> Self {
        Self::new()
    }
}

fn io_err(e: dialoguer::Error) -> io::Error {
    match e {
        dialoguer::Error::IO(e) => e,
    }
}

impl Prompter for DialoguerPrompter {
    fn confirm(&mut self, prompt: &str, default: bool) -> io::Result<Option<bool>> {
        dialoguer::Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact_opt()
            .map_err(io_err)
    }

    fn select_many(
        &mut self,
        prompt: &str,
        items: &[String],
        checked: &[bool],
    ) -> io::Result<Option<Vec<usize>>> {
        dialoguer::MultiSelect::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .defaults(checked)
            .max_length(10)
            .interact_opt()
            .map_err(io_err)
    }

    fn input_count(
        &mut self,
        prompt: &str,
        default: u16,
        validate: &dyn Fn(&str) -> Result<u16, String>,
    ) -> io::Result<Option<u16>> {
        let text: String = dialoguer::Input::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default.to_string())
            .validate_with(|s: &String| validate(s).map(|_| ()))
            .interact_text()
            .map_err(io_err)?;
        Ok(validate(&text).ok())
    }

    fn select_one(&mut self, prompt: &str, items: &[String], default: usize) -> io::Result<Option<usize>> {
        dialoguer::Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .max_length(10)
            .interact_opt()
            .map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// One scripted keypress-level answer.
    #[derive(Debug, Clone)]
    enum A {
        /// Enter: take the default.
        Enter,
        Yes,
        No,
        Esc,
        CtrlC,
        Pick(Vec<usize>),
        Text(&'static str),
        One(usize),
    }

    #[derive(Default)]
    struct Script {
        answers: VecDeque<A>,
        asked: Vec<String>,
        refused: Vec<String>,
    }

    impl Script {
        fn new(a: &[A]) -> Self {
            Script {
                answers: a.iter().cloned().collect(),
                ..Script::default()
            }
        }
        fn next(&mut self, prompt: &str) -> io::Result<A> {
            self.asked.push(prompt.to_owned());
            match self.answers.pop_front() {
                Some(A::CtrlC) => Err(io::Error::new(io::ErrorKind::Interrupted, "^C")),
                Some(a) => Ok(a),
                None => panic!("no scripted answer for {prompt:?}"),
            }
        }
    }

    impl Prompter for Script {
        fn confirm(&mut self, prompt: &str, default: bool) -> io::Result<Option<bool>> {
            Ok(match self.next(prompt)? {
                A::Enter => Some(default),
                A::Yes => Some(true),
                A::No => Some(false),
                A::Esc => None,
                a => panic!("{a:?} to a yes/no question"),
            })
        }
        fn select_many(
            &mut self,
            prompt: &str,
            _: &[String],
            checked: &[bool],
        ) -> io::Result<Option<Vec<usize>>> {
            Ok(match self.next(prompt)? {
                A::Enter => Some((0..checked.len()).filter(|&i| checked[i]).collect()),
                A::Pick(v) => Some(v),
                A::Esc => None,
                a => panic!("{a:?} to a multi-select"),
            })
        }
        fn input_count(
            &mut self,
            prompt: &str,
            default: u16,
            validate: &dyn Fn(&str) -> Result<u16, String>,
        ) -> io::Result<Option<u16>> {
            loop {
                let text = match self.next(prompt)? {
                    A::Enter => default.to_string(),
                    A::Text(t) => t.to_owned(),
                    a => panic!("{a:?} to a number"),
                };
                match validate(&text) {
                    Ok(v) => return Ok(Some(v)),
                    Err(e) => self.refused.push(e),
                }
            }
        }
        fn select_one(&mut self, prompt: &str, _: &[String], default: usize) -> io::Result<Option<usize>> {
            Ok(match self.next(prompt)? {
                A::Enter => Some(default),
                A::One(i) => Some(i),
                A::Esc => None,
                a => panic!("{a:?} to a select"),
            })
        }
    }

    fn sample() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/sysfs/qemu-igb-2vfs")
    }

    fn opts(target: &Path, config: Option<PathBuf>, save: Option<PathBuf>) -> Options {
        Options {
            sysfs: sample(),
            target: target.to_owned(),
            config,
            save,
            dry_run: false,
        }
    }

    fn cfg_file(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("config.yaml");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    }

    /// Run the wizard into `o.target` (created empty first: the writer
    /// refuses a missing target root).
    fn go(o: &Options, s: &mut Script) -> (ExitCode, String, String) {
        std::fs::create_dir_all(&o.target).unwrap_or_else(|e| panic!("{e}"));
        let (mut out, mut err) = (vec![], vec![]);
        let code = run_with(o, s, &mut out, &mut err).unwrap_or_else(|e| panic!("{e:#}"));
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    fn empty(dir: &Path) -> bool {
        std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
    }

    fn state(root: &Path) -> String {
        std::fs::read_to_string(root.join("oem/harvester-sriov/state.yaml")).unwrap_or_default()
    }

    const HOST: &str = "os:\n  hostname: node-a\n";

    #[test]
    fn yes_then_enter_everywhere_gives_a_valid_plan() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(d.path(), HOST);
        let mut s = Script::new(&[A::Yes, A::Enter, A::Enter, A::Enter, A::Enter, A::Enter]);
        let (code, out, _) = go(&opts(&t, Some(c), None), &mut s);
        assert_eq!(code, ExitCode::Success, "{out}");
        assert!(out.contains("eth0"), "{out}");
        // default: min(8, kernel total 7) = 7, vfio-pci, sriov-network-operator
        let st = state(&t);
        assert!(st.contains("num_vfs: 7"), "{st}");
        assert!(st.contains("device_type: \"vfio-pci\""), "{st}");
        assert!(st.contains("operator: \"sriov-network-operator\""), "{st}");
        assert_eq!(s.asked.len(), 6, "{:?}", s.asked);
    }

    #[test]
    fn refused_count_is_asked_again() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(d.path(), HOST);
        let mut s = Script::new(&[
            A::Yes,
            A::Enter,
            A::Text("9"),
            A::Text("zero"),
            A::Text("0"),
            A::Text("3"),
            A::One(1),
            A::One(2),
            A::Yes,
        ]);
        let (code, _, _) = go(&opts(&t, Some(c), None), &mut s);
        assert_eq!(code, ExitCode::Success);
        assert_eq!(s.refused.len(), 3, "{:?}", s.refused);
        assert!(s.refused[0].contains("from 1 to 7"));
        let st = state(&t);
        assert!(
            st.contains("num_vfs: 3") && st.contains("\"netdevice\"") && st.contains("\"none\""),
            "{st}"
        );
    }

    #[test]
    fn esc_or_ctrl_c_anywhere_writes_nothing() {
        let scripts: Vec<Vec<A>> = vec![
            vec![A::Esc],
            vec![A::CtrlC],
            vec![A::Yes, A::Esc],
            vec![A::Yes, A::Enter, A::CtrlC],
            vec![A::Yes, A::Enter, A::Enter, A::Esc],
            vec![A::Yes, A::Enter, A::Enter, A::Enter, A::CtrlC],
            vec![A::Yes, A::Enter, A::Enter, A::Enter, A::Enter, A::Esc],
            vec![A::Yes, A::Enter, A::Enter, A::Enter, A::Enter, A::No],
        ];
        for sc in scripts {
            let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let t = d.path().join("t");
            let save = d.path().join("answers.yaml");
            let c = cfg_file(d.path(), HOST);
            let mut s = Script::new(&sc);
            let (code, _, err) = go(&opts(&t, Some(c), Some(save.clone())), &mut s);
            assert_eq!(code, ExitCode::Interrupted, "{sc:?}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(empty(&t) && !save.exists(), "{sc:?} wrote something");
        }
    }

    #[test]
    fn unchosen_nic_is_turned_off_by_a_rule() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let save = d.path().join("a.yaml");
        let c = cfg_file(d.path(), HOST);
        let mut s = Script::new(&[A::Yes, A::Pick(vec![]), A::Enter, A::Enter, A::Enter]);
        let (code, out, _) = go(&opts(&t, Some(c), Some(save.clone())), &mut s);
        assert_eq!(code, ExitCode::Success);
        assert!(out.contains("No NIC chosen"), "{out}");
        let text = std::fs::read_to_string(&save).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("enabled: false"), "{text}");
        assert!(!state(&t).contains("address: \"0000:01:00.0\"\n    vendor_id"));
    }

    #[test]
    fn management_nic_is_not_offered() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(
            d.path(),
            "os:\n  hostname: node-a\ninstall:\n  management_interface:\n    interfaces:\n      - name: eth0\n",
        );
        let mut s = Script::new(&[]);
        let (code, out, _) = go(&opts(&t, Some(c), None), &mut s);
        assert_eq!(code, ExitCode::Success);
        assert!(out.contains("management NIC"), "{out}");
        assert!(s.asked.is_empty() && empty(&t));
    }

    #[test]
    fn no_sriov_nic_asks_nothing() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(d.path().join("sys/bus/pci/devices")).unwrap_or_else(|e| panic!("{e}"));
        let mut o = opts(&d.path().join("t"), None, None);
        o.sysfs = d.path().join("sys");
        let mut s = Script::new(&[]);
        let (code, out, _) = go(&o, &mut s);
        assert_eq!(code, ExitCode::Success);
        assert!(out.contains("No SR-IOV capable NIC found"), "{out}");
        assert!(s.asked.is_empty());
    }

    #[test]
    fn config_prefills_the_answers_and_save_round_trips() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        let c = cfg_file(
            d.path(),
            "os:\n  hostname: node-a\nsriov:\n  enabled: true\n  num_vfs: 5\n  device_type: netdevice\n  operator: pcidevices\n  mtu: 9000\n",
        );
        let save = d.path().join("answers.yaml");
        let mut s = Script::new(&[A::Enter, A::Enter, A::Enter, A::Enter, A::Enter, A::Enter]);
        let (code, _, _) = go(&opts(&t, Some(c), Some(save.clone())), &mut s);
        assert_eq!(code, ExitCode::Success);
        let st = state(&t);
        assert!(
            st.contains("num_vfs: 5") && st.contains("\"netdevice\"") && st.contains("\"pcidevices\""),
            "{st}"
        );
        let text = std::fs::read_to_string(&save).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.starts_with(ANSWERS_MARKER), "{text}");
        let back = config::parse(&save, &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let sr = back.sriov.unwrap_or_else(|| panic!("no sriov in {text}"));
        assert_eq!((sr.mtu, sr.devices[0].num_vfs), (Some(9000), Some(5)));
    }

    #[test]
    fn a_prior_config_that_does_not_plan_here_is_said_not_hidden() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = d.path().join("t");
        // 9 VFs on a PF whose kernel allows 7: that config's plan fails here.
        let c = cfg_file(
            d.path(),
            "os:\n  hostname: node-a\nsriov:\n  enabled: true\n  devices:\n    - match: {address: \"0000:01:00.0\"}\n      num_vfs: 9\n",
        );
        let mut s = Script::new(&[A::Enter, A::Enter, A::Enter, A::Enter, A::Enter, A::Enter]);
        let (code, out, _) = go(&opts(&t, Some(c.clone()), None), &mut s);
        assert_eq!(code, ExitCode::Success, "{out}");
        let want = format!(
            "note: the VF counts of {} are not offered as defaults: {}: sriov.devices[0].num_vfs: 9 VFs asked for 0000:01:00.0",
            c.display(),
            c.display()
        );
        assert!(out.contains(&want), "{out}");
        // Every NIC still offered, with the default count.
        assert!(state(&t).contains("num_vfs: 7"), "{}", state(&t));
    }

    #[test]
    fn a_ctrl_c_handler_that_cannot_be_installed_is_reported() {
        // The first install takes the process's one handler; the second
        // fails (ctrlc allows one) and must say so.
        let (mut first, mut second) = (vec![], vec![]);
        catch_ctrl_c(&mut first).unwrap_or_else(|e| panic!("{e}"));
        catch_ctrl_c(&mut second).unwrap_or_else(|e| panic!("{e}"));
        let all = String::from_utf8_lossy(&[first, second].concat()).into_owned();
        assert!(all.starts_with("warning: cannot catch Ctrl-C ("), "{all}");
        assert_eq!(all.lines().count(), 1, "{all}");
    }

    #[test]
    fn save_refuses_a_foreign_file_before_asking() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let save = d.path().join("config.yaml");
        std::fs::write(&save, "install:\n  mode: create\n").unwrap_or_else(|e| panic!("{e}"));
        let mut s = Script::new(&[]);
        let (mut out, mut err) = (vec![], vec![]);
        let e = run_with(
            &opts(&d.path().join("t"), None, Some(save.clone())),
            &mut s,
            &mut out,
            &mut err,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("not a harvester-sriov answers file"), "{e}");
        assert!(s.asked.is_empty());
    }

    #[test]
    fn table_fits_80_columns() {
        let inv = sysfs::scan(&sample(), ScanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let nics: Vec<Nic> = inv
            .devices
            .iter()
            .filter(|d| d.is_sriov_pf())
            .map(|d| Nic {
                dev: d,
                unusable: None,
                management: false,
            })
            .collect();
        for l in nic_table(&nics).lines() {
            assert!(l.chars().count() < 80, "{l}");
        }
    }
}
