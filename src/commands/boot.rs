//! `harvester-sriov boot`: at every start, make the node's VFs what the state
//! file says. One log line per PF; exit 0 only when every PF is as planned.
//!
//! For each planned PF: find it by identity, wait a bounded time for its
//! driver, then let [`crate::kernel`] write it.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::ExitCode;
use crate::cli::BootArgs;
use crate::intent::config::Operator;
use crate::kernel::{KernelError, enforce, locate, owned_by_pcidevices, set_mtu, settling};
use crate::scan::sysfs::{self, ScanOptions};

/// `boot`'s options, built once from its flags (or for `--now`).
pub(crate) struct Options {
    pub(crate) sysfs: PathBuf,
    pub(crate) state: crate::state::Source,
    /// How long to wait for a PF's driver.
    pub(crate) wait: Duration,
    /// The node's root.
    pub(crate) target: PathBuf,
}

impl From<&BootArgs> for Options {
    fn from(args: &BootArgs) -> Self {
        Options {
            sysfs: args.sysfs.clone(),
            state: crate::state::Source::from_flags(args.state.as_deref(), &args.target),
            wait: Duration::from_secs(args.wait),
            target: args.target.clone(),
        }
    }
}

impl Options {
    /// What `apply --now` and `configure --now` run: `boot` on the target
    /// just written, its own state, the default wait.
    pub(crate) fn now(target: &crate::pipeline::Target) -> Options {
        Options {
            sysfs: target.sysfs.clone(),
            state: crate::state::Source::Target(target.root.clone()),
            wait: Duration::from_secs(crate::cli::DEFAULT_BOOT_WAIT_SECS),
            target: target.root.clone(),
        }
    }
}

pub(crate) fn run(opts: &Options, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let own_state = opts
        .target
        .join(crate::layout::STATE_PATH.trim_start_matches('/'));
    let opened = crate::write::state::open(&opts.state)?;
    if opened.older {
        writeln!(
            out,
            "harvester-sriov boot: {}",
            crate::state::older_notice(&opened.file, &own_state)
        )?;
    }
    let state = opened.file.clone();
    let plan = opened.load()?;
    let wait = opts.wait;
    let scan = || sysfs::scan(&opts.sysfs, ScanOptions { all: true });
    let mut inv = scan()?;
    // A wait too long for the clock (`--wait 18446744073709551615`) has no
    // deadline: it waits until the drivers appear. Never an overflow panic.
    let deadline = Instant::now().checked_add(wait);
    // Wait (bounded) until every planned PF that is present has its driver
    // bound, its interface registered and named by udev: the hand-off names
    // it, and udev may rename it after the driver registered it (an
    // upgrade's new naming, a .link file), so a name read before is not
    // the node's ([`settling`]).
    loop {
        let waiting = plan.pfs.iter().any(|pf| {
            locate(pf, &inv.devices).is_ok_and(|(d, _)| settling(&opts.sysfs, &opts.target, pf, d).is_some())
        });
        if !waiting || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        inv = scan()?;
    }
    for pf in &plan.pfs {
        if let Ok((d, _)) = locate(pf, &inv.devices)
            && d.driver.is_some()
            && let Some(why) = settling(&opts.sysfs, &opts.target, pf, d)
        {
            // (no driver at all is the PF's own line below)
            writeln!(
                out,
                "harvester-sriov boot: {} ({}): {why} after {}s: the hand-off follows the name it has now, which may still change",
                d.address,
                pf.interface.as_deref().unwrap_or(&pf.driver),
                opts.wait.as_secs()
            )?;
        }
    }
    let mut ok = true;
    // Where each planned PF is now, and what it is called: an upgrade may
    // rename it (v1.6 -> v1.7: enp6s0f0 -> enp6s0f0np0) or a slot move it.
    // The hand-off names it, so its files follow before rke2 starts.
    let found: Vec<Option<(String, Option<String>)>> = plan
        .pfs
        .iter()
        .map(|pf| {
            locate(pf, &inv.devices)
                .ok()
                .map(|(d, _)| (d.address.clone(), d.interfaces.first().cloned()))
        })
        .collect();
    let (next, changes) = crate::plan::followed(&plan, &found);
    // The plan the node's hand-off says now: the followed one once rewritten.
    let mut handed = &plan;
    if !changes.is_empty() {
        match follow(opts, &state, &own_state, next.clone(), &changes.join("; "), out)? {
            Followed::Rewritten => handed = &next,
            Followed::NotOwn => {}
            Followed::Failed => ok = false,
        }
    }
    if plan.pfs.is_empty() {
        writeln!(out, "harvester-sriov boot: the state plans no VFs; nothing to do")?;
    }
    // Each PF's line names it as the state did (and says where it moved);
    // the hand-off's words are for its name now.
    for (pf, now) in plan.pfs.iter().zip(&handed.pfs) {
        let name = format!(
            "{} ({})",
            pf.address,
            pf.interface.as_deref().unwrap_or(&pf.driver)
        );
        let result = locate(pf, &inv.devices)
            .map_err(KernelError::from)
            .and_then(|(d, moved)| {
                if d.driver.is_none() {
                    return Err(KernelError::NoDriver {
                        waited: wait,
                        driver: pf.driver.clone(),
                    });
                }
                let line = if plan.operator == Operator::Pcidevices {
                    let dir = opts.sysfs.join("bus/pci/devices").join(&d.address);
                    let line = owned_by_pcidevices(now, d, handed) + &set_mtu(&dir, d, plan.mtu)?;
                    match crate::kernel::vfs::apply(&opts.sysfs, pf, d, None, true) {
                        Ok(part) => line + &part,
                        Err(error) => {
                            return Err(KernelError::Settings {
                                done: line,
                                error,
                                bound: String::new(),
                            });
                        }
                    }
                } else {
                    enforce(&opts.sysfs, pf, d, &plan)?
                };
                Ok(match moved {
                    Some(m) => format!("{m}; {line}"),
                    None => line,
                })
            });
        match result {
            Ok(line) => writeln!(out, "harvester-sriov boot: {name}: {line}")?,
            Err(e) => {
                ok = false;
                writeln!(out, "harvester-sriov boot: {name}: FAILED: {e}")?;
            }
        }
    }
    if state == own_state {
        os_check(opts, &next, out)?;
    }
    out.flush().context("writing the log")?;
    Ok(if ok {
        ExitCode::Success
    } else {
        ExitCode::BootIncomplete
    })
}

/// What became of the node's files when a planned PF moved or was renamed.
enum Followed {
    /// The state, yip file and hand-off now name it as it is now.
    Rewritten,
    /// The state read is not the target's own: nothing rewritten.
    NotOwn,
    /// Rewriting failed: the node's files are as they were.
    Failed,
}

/// A planned PF has another name or address now: rewrite the node's files
/// for it (only when the state read is the target's own), and say what was
/// done in one line. rke2 applies the rewritten hand-off on a server only:
/// a second line says what an agent (join) node needs, or the renamed PF's
/// count never reaches the cluster (the cluster model's join-node story).
fn follow(
    opts: &Options,
    state: &std::path::Path,
    own_state: &std::path::Path,
    next: crate::plan::Plan,
    what: &str,
    out: &mut dyn Write,
) -> anyhow::Result<Followed> {
    if state != own_state {
        writeln!(
            out,
            "harvester-sriov boot: {what}: the state {} is not {}'s own: not rewritten",
            state.display(),
            opts.target.display()
        )?;
        return Ok(Followed::NotOwn);
    }
    let hands_off = !crate::render::handoff::files(&next).is_empty();
    match crate::pipeline::rewrite_installed(next, &opts.target) {
        Ok(_) => {
            writeln!(
                out,
                "harvester-sriov boot: {what}: rewrote the state and the hand-off for it, before rke2 starts"
            )?;
            if hands_off {
                writeln!(
                    out,
                    "harvester-sriov boot: rke2 applies the rewritten hand-off on a server node only: on a join (agent) node run `{} | kubectl apply -f -` with cluster access, or the renamed PF gets no count",
                    crate::shell::command([crate::layout::BINARY_PATH, "handoff"])
                )?;
            }
            Ok(Followed::Rewritten)
        }
        Err(e) => {
            writeln!(
                out,
                "harvester-sriov boot: {what}: FAILED to rewrite the state and the hand-off: {}",
                crate::error_message(&e)
            )?;
            Ok(Followed::Failed)
        }
    }
}

/// The OS the node runs: `PRETTY_NAME` of ROOT's os-release (else `ID
/// VERSION_ID`), read through the writer's resolver.
fn os_version(root: &std::path::Path) -> Option<String> {
    let text = ["/etc/os-release", "/usr/lib/os-release"].iter().find_map(|p| {
        crate::write::read_file(root, std::path::Path::new(p), 64 * 1024)
            .ok()
            .flatten()
            .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
    })?;
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix('=')?;
            let v = v.trim().trim_matches('"').trim_matches('\'').trim();
            (!v.is_empty()).then(|| v.to_owned())
        })
    };
    field("PRETTY_NAME").or_else(|| Some(format!("{} {}", field("ID")?, field("VERSION_ID")?)))
}

/// The first boot on another OS version (an upgrade replaced the image) runs
/// the same checks as `verify` and says the result in one line; then the
/// version is recorded. The first boot of all only records it.
fn os_check(opts: &Options, plan: &crate::plan::Plan, out: &mut dyn Write) -> anyhow::Result<()> {
    use crate::layout::{MARKER, OS_SEEN_PATH};
    let Some(now) = os_version(&opts.target) else {
        return Ok(());
    };
    let seen = crate::write::read_file(&opts.target, std::path::Path::new(OS_SEEN_PATH), 4096)?.and_then(
        |(_, b)| {
            String::from_utf8_lossy(&b)
                .lines()
                .rfind(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(str::to_owned)
        },
    );
    match &seen {
        Some(was) if *was == now => return Ok(()),
        Some(was) => {
            let report = crate::commands::verify::compare(plan, &opts.sysfs, &opts.target)?;
            let lines = crate::commands::verify::table(plan, &report);
            writeln!(
                out,
                "harvester-sriov boot: first boot on {now} (was {was}): {}",
                lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join("; ")
            )?;
        }
        None => writeln!(
            out,
            "harvester-sriov boot: running on {now}: recorded; the first boot on another OS version runs verify's checks"
        )?,
    }
    let record = crate::write::FileSpec {
        path: std::path::PathBuf::from(OS_SEEN_PATH),
        contents: format!(
            "{MARKER} The OS version (os-release PRETTY_NAME) harvester-sriov boot last ran on.\n{now}\n"
        )
        .into_bytes(),
        mode: 0o600,
    };
    crate::write::commit(&opts.target, &[record], &[], &crate::layout::owned)?;
    Ok(())
}
