//! `hook`: the unattended entry point for Harvester's
//! `os.after_install_chroot_commands`. It gets the raw install config, and
//! applies its `sriov` section into the installed system through the same
//! [`Pipeline`] as `apply`.
//!
//! Where the config comes from (README: "Using it with Harvester's installer"): during the hook
//! the installer has not yet saved its config to `/oem/harvester.config`
//! (harvester/harvester-installer:`package/harvester-os/files/usr/sbin/harv-install`:
//! `elemental install`, then `save_configs`), and that copy is the parsed
//! config marshalled again, without `sriov:` (`pkg/console/util.go`
//! `saveTemp`). The raw config's URL, `install.config_url`, is in the
//! installer's environment as `HARVESTER_STREAMDISK_CLOUDINIT_URL`
//! (`pkg/console/util.go` `generateEnvAndConfig`), which `elemental install`
//! and the chroot stage's commands inherit. So the hook fetches that URL with
//! curl (in Harvester's OS image), unless `--config` names a file.
//!
//! Nothing looks at the exit status or the output of these commands
//! (rancher/elemental-toolkit:`pkg/action/common.go` `Hook` drops the error
//! unless `--strict`, which harv-install does not pass): every run is
//! appended to `/oem/harvester-sriov/hook.log`, the record to read after
//! the installation. Exit codes are for a person running it by hand:
//! 0 applied or nothing to do, 2 nothing written (bad config, failed
//! download, `--strict` with warnings).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::ExitCode;
use crate::cli::HookArgs;
use crate::intent::config::{self, MAX_CONFIG_BYTES};
use crate::pipeline::{self, Pipeline, Target};

/// The installer's environment variable holding `install.config_url`.
pub(crate) const CONFIG_URL_ENV: &str = "HARVESTER_STREAMDISK_CLOUDINIT_URL";

/// Writes to two places: the terminal (or the chroot stage's pipe) and the log.
struct Tee<'a> {
    out: &'a mut dyn Write,
    log: &'a mut Vec<u8>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.log.extend_from_slice(buf);
        // The chroot stage may have closed its pipe: the log still gets it all.
        let _ = self.out.write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.out.flush();
        Ok(())
    }
}

pub(crate) fn run(args: &HookArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut said: Vec<u8> = vec![];
    let result = {
        let mut log_out: Vec<u8> = vec![];
        let mut log_err: Vec<u8> = vec![];
        let r = {
            let mut o = Tee {
                out,
                log: &mut log_out,
            };
            let mut e = Tee {
                out: err,
                log: &mut log_err,
            };
            run_inner(args, &mut o, &mut e)
        };
        said.extend(log_out);
        said.extend(log_err);
        r
    };
    let code = match &result {
        Ok(c) => c.code(),
        Err(e) => {
            let _ = writeln!(said, "error: {e:#}");
            ExitCode::Error.code()
        }
    };
    let mut entry = format!(
        "== {} harvester-sriov {} hook{} (exit {code})\n",
        utc_now(),
        env!("CARGO_PKG_VERSION"),
        if args.strict { " --strict" } else { "" }
    )
    .into_bytes();
    entry.extend(said);
    if !entry.ends_with(b"\n") {
        entry.push(b'\n');
    }
    if let Err(e) = crate::write::append(&args.target, Path::new(crate::layout::HOOK_LOG_PATH), &entry) {
        writeln!(
            err,
            "warning: could not record this run in {}: {e}",
            crate::layout::HOOK_LOG_PATH
        )?;
    }
    result
}

/// Where the install config comes from.
enum Source {
    File(PathBuf),
    /// The URL, and where it came from.
    Url(String, &'static str),
}

fn source(args: &HookArgs) -> Option<Source> {
    if let Some(f) = &args.config {
        return Some(Source::File(f.clone()));
    }
    let given = |u: &String| !u.trim().is_empty();
    if let Some(u) = args.config_url.as_ref().filter(|u| given(u)) {
        return Some(Source::Url(u.trim().to_owned(), "--config-url"));
    }
    let u = std::env::var(CONFIG_URL_ENV).ok().filter(given)?;
    Some(Source::Url(u.trim().to_owned(), CONFIG_URL_ENV))
}

/// Fetch the raw install config with curl (in Harvester's OS image; the
/// chroot has IP networking but no DNS).
fn fetch(url: &str) -> anyhow::Result<String> {
    let output = Command::new("curl")
        // http(s) only, as the installer's own fetch (Go's HTTP client)
        .args(["--proto", "=http,https", "--proto-redir", "=http,https"])
        .args([
            "-fsSL",
            "--retry",
            "3",
            "--connect-timeout",
            "10",
            "--max-time",
            "120",
        ])
        .arg("--max-filesize")
        .arg(MAX_CONFIG_BYTES.to_string())
        .arg("--")
        .arg(url)
        .output()
        .with_context(|| format!("{url}: cannot run curl to fetch the install config"))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        let hint = match output.status.code() {
            Some(6) => " (the installer's chroot has no DNS: use an IP address in install.config_url)",
            Some(7 | 28) => " (no route to the server from the installer, or it is down)",
            _ => "",
        };
        bail!(
            "{url}: fetching the install config failed: curl exit {}: {why}{hint}",
            output
                .status
                .code()
                .map_or("by a signal".into(), |c| c.to_string())
        );
    }
    if output.stdout.len() as u64 > MAX_CONFIG_BYTES {
        bail!("{url}: larger than {MAX_CONFIG_BYTES} bytes: not an install config");
    }
    String::from_utf8(output.stdout).map_err(|e| {
        anyhow::anyhow!(
            "{url}: not valid UTF-8 text (byte offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn run_inner(args: &HookArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let target = Target {
        sysfs: args.sysfs.clone(),
        root: args.target.clone(),
    };
    let cfg = match source(args) {
        None => {
            writeln!(
                out,
                "no install config: {CONFIG_URL_ENV} is empty (an installation without install.config_url) and no --config was given; SR-IOV not configured. On the node, after the first boot: harvester-sriov configure --now"
            )?;
            return Ok(ExitCode::Success);
        }
        Some(Source::File(f)) => {
            writeln!(out, "install config: {}", f.display())?;
            config::load(&f)?
        }
        Some(Source::Url(url, from)) => {
            writeln!(out, "install config: {url} (from {from})")?;
            let text = fetch(&url)?;
            config::parse(Path::new(&url), &text)?
        }
    };
    let Some(sriov) = cfg.sriov.clone() else {
        writeln!(
            out,
            "{}: no sriov section: nothing to do, SR-IOV not configured",
            cfg.file.display()
        )?;
        return Ok(ExitCode::Success);
    };
    writeln!(out, "{}: applying its sriov section", cfg.file.display())?;
    let p = Pipeline::build(&target, &cfg, &sriov)?;
    if args.strict && !p.plan.warnings.is_empty() {
        for w in &p.plan.warnings {
            writeln!(err, "warning: {w}")?;
        }
        writeln!(
            err,
            "error: --strict: {} warning(s), nothing written: SR-IOV not configured",
            p.plan.warnings.len()
        )?;
        return Ok(ExitCode::Error);
    }
    pipeline::write_out(&p, &target.root, false, out, err)?;
    Ok(ExitCode::Success)
}

/// Now in UTC as `2026-01-31T23:59:59Z` (the chroot has no time zone data
/// to speak of, and the log is read on other machines).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

fn utc(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days -> civil date.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(utc(4_107_542_400), "2100-03-01T00:00:00Z");
    }
}
