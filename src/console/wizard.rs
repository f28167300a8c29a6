//! The console questions for a person: which NICs get how many VFs. The
//! wizard only asks and returns an `sriov` section; the `configure` command
//! (commands/configure.rs) confirms and writes it.
//!
//! The questions go through [`Prompter`]: dialoguer on a terminal, a script
//! in the unit tests.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::intent::answers::answers_to_sriov;
use crate::intent::config::{self, DeviceType, InstallConfig, Operator, Sriov};
use crate::plan;
use crate::scan::device::Device;
use crate::scan::sysfs::Inventory;

/// The questions. Every method returns `Ok(None)` when the person cancels
/// (Esc); an error of kind `Interrupted` (Ctrl-C) is a cancel too.
pub(crate) trait Prompter {
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

/// The wizard either finished with answers or was cancelled.
pub(crate) enum Flow<T> {
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
            let head = format!("  {} {}:", n.dev.address, iface(n.dev));
            s += &wrap(&head, n.unusable.as_deref().unwrap_or_default(), 79);
        }
    }
    s
}

/// `head` then `text`, word by word, in lines of at most `width` columns;
/// continuation lines are indented 4. A word longer than a line is cut
/// with `~`.
fn wrap(head: &str, text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = cut(head, width);
    for word in text.split_whitespace() {
        let word = cut(word, width - 4);
        if line.chars().count() + 1 + word.chars().count() > width {
            out += &line;
            out.push('\n');
            line = format!("    {word}");
        } else {
            line.push(' ');
            line += &word;
        }
    }
    out += &line;
    out.push('\n');
    out
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

/// The questions. `Go(None)`: nothing to ask (no SR-IOV NIC).
pub(crate) fn wizard(
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
    let probe_plan = plan::build(&inv.devices, &cfg.clone().with_sriov(probe), "probe")?;
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
        let counts = match plan::build(&inv.devices, &cfg.clone().with_sriov(probe), "probe") {
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
            (
                Operator::Pcidevices,
                "pcidevices (Harvester's addon: its controller creates the VFs)"
            ),
            (
                Operator::SriovNetworkOperator,
                "sriov-network-operator (installed separately)"
            ),
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
pub(crate) struct DialoguerPrompter {
    theme: dialoguer::theme::SimpleTheme,
}

impl DialoguerPrompter {
    pub(crate) fn new() -> Self {
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

/// Ctrl-C in raw mode ends a prompt with its cursor still on the prompt's
/// line: end that line, so that the cancel message gets one of its own.
fn end_line_on_interrupt<T>(r: io::Result<T>) -> io::Result<T> {
    if r.as_ref().is_err_and(|e| e.kind() == io::ErrorKind::Interrupted) {
        let _ = dialoguer::console::Term::stderr().write_line("");
    }
    r
}

impl Prompter for DialoguerPrompter {
    /// `y`/`n` choose and Enter answers (the default when nothing was
    /// typed); Esc or `q` cancels at once. dialoguer's own confirm answers
    /// on the `y` alone, so the Enter a person types after it, as at any
    /// `[Y/n]` prompt, reached the next question and accepted its NIC
    /// selection before it was read; its wait-for-Enter mode needs Enter
    /// after Esc too.
    fn confirm(&mut self, prompt: &str, default: bool) -> io::Result<Option<bool>> {
        use dialoguer::console::{Key, Term};
        use dialoguer::theme::Theme as _;
        let term = Term::stderr();
        if !term.is_term() {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "not a terminal"));
        }
        let render = |typed: Option<bool>| -> io::Result<()> {
            let mut line = String::new();
            let _ = self.theme.format_confirm_prompt(&mut line, prompt, Some(default));
            if let Some(y) = typed {
                line.push(if y { 'y' } else { 'n' });
            }
            term.clear_line()?;
            term.write_str(&line)?;
            term.flush()
        };
        render(None)?;
        let mut typed = None;
        let answer = loop {
            match end_line_on_interrupt(term.read_key())? {
                Key::Char('y' | 'Y') => typed = Some(true),
                Key::Char('n' | 'N') => typed = Some(false),
                Key::Backspace => typed = None,
                Key::Enter => break Some(typed.unwrap_or(default)),
                Key::Escape | Key::Char('q') => break None,
                _ => continue,
            }
            render(typed)?;
        };
        let mut line = String::new();
        let _ = self
            .theme
            .format_confirm_prompt_selection(&mut line, prompt, answer);
        term.clear_line()?;
        term.write_line(&line)?;
        Ok(answer)
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
            .map_or_else(|e| end_line_on_interrupt(Err(e)), Ok)
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
            .map_err(io_err)
            .map_or_else(|e| end_line_on_interrupt(Err(e)), Ok)?;
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
            .map_or_else(|e| end_line_on_interrupt(Err(e)), Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::sysfs::{self, ScanOptions};

    #[test]
    fn table_fits_80_columns() {
        let inv = sysfs::scan(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/sysfs/qemu-igb-2vfs"),
            ScanOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let nics: Vec<Nic> = inv
            .devices
            .iter()
            .filter(|d| d.is_sriov_pf())
            .map(|d| Nic {
                dev: d,
                unusable: Some(
                    "management NIC (install.management_interface): a rule naming it with allow_management: true selects it, and a_word_far_longer_than_any_line_of_a_serial_console_could_ever_show_in_one_go_at_all".into(),
                ),
                management: false,
            })
            .collect();
        let table = nic_table(&nics);
        assert!(
            table.contains("Not offered:") && table.contains("allow_management"),
            "{table}"
        );
        for l in table.lines() {
            assert!(l.chars().count() < 80, "{l}");
        }
    }
}
