//! `hook`: the unattended entry point for Harvester's
//! `os.after_install_chroot_commands`. It gets the raw install config, and
//! applies its `sriov` section into the installed system through the same
//! [`Pipeline`] as `apply`.
//!
//! Where the config comes from (docs/install.md): during the hook
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

/// `hook`'s options, built once from its flags (and the installer's
/// environment, for the config's URL).
pub(crate) struct Options {
    /// Where the install config comes from; `None`: nowhere (no file, no URL).
    source: Option<Source>,
    target: Target,
    strict: bool,
}

impl From<&HookArgs> for Options {
    fn from(args: &HookArgs) -> Self {
        Options {
            source: source(args),
            target: Target::new(&args.sysfs, &args.target),
            strict: args.strict,
        }
    }
}

pub(crate) fn run(args: &Options, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
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
    if let Err(e) = crate::write::append(&args.target.root, Path::new(crate::layout::HOOK_LOG_PATH), &entry) {
        // with its cause: "cannot append to" alone does not say why
        writeln!(
            err,
            "warning: could not record this run in {}: {}",
            crate::layout::HOOK_LOG_PATH,
            crate::error_message(&anyhow::Error::new(e))
        )?;
    }
    result
}

/// `url` as it may be shown and logged: a user name and password
/// (`http://user:secret@host/…`) become `***`, and so does every query
/// value (`?token=…`, a presigned URL's signature); the rest is kept so
/// the log still says where the config came from.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rfind('@') {
        Some(i) => format!("***@{}", &authority[i + 1..]),
        None => authority.to_owned(),
    };
    let (path, fragment) = match tail.find('#') {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    let path = match path.split_once('?') {
        Some((p, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) => format!("{k}=***"),
                    None if kv.is_empty() => String::new(),
                    None => "***".to_owned(),
                })
                .collect();
            format!("{p}?{}", q.join("&"))
        }
        None => path.to_owned(),
    };
    format!("{scheme}{authority}{path}{fragment}")
}

/// Where the install config comes from.
#[derive(Clone)]
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

/// The bounds of the config fetch. An installer waits for `hook` (the
/// chroot stage runs its commands one after the other), so every wait is
/// counted: curl's connect timeout and time per try, its tries, and a hard
/// deadline above them after which the fetch is killed.
pub(crate) const FETCH_CONNECT_SECS: u64 = 5;
pub(crate) const FETCH_TRY_SECS: u64 = 15;
pub(crate) const FETCH_RETRIES: u64 = 2;
pub(crate) const FETCH_RETRY_DELAY_SECS: u64 = 1;
/// The longest a fetch can take: every try at its limit, the delays between
/// them, and a margin for curl to start and stop. 50 s.
pub(crate) const FETCH_BOUND_SECS: u64 =
    FETCH_TRY_SECS * (FETCH_RETRIES + 1) + FETCH_RETRY_DELAY_SECS * FETCH_RETRIES + 3;

/// Fetch the raw install config with curl (in Harvester's OS image; the
/// chroot has IP networking but no DNS). Every argument is passed to curl
/// directly, no shell. The answer is read from curl's pipe and cut at
/// [`MAX_CONFIG_BYTES`] while it arrives: a chunked answer has no length for
/// `--max-filesize` to refuse up front.
fn fetch(url: &str, shown: &str) -> anyhow::Result<String> {
    use std::io::Read as _;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let started = Instant::now();
    let mut child = Command::new("curl")
        // http(s) only, as the installer's own fetch (Go's HTTP client)
        .args(["--proto", "=http,https", "--proto-redir", "=http,https"])
        .arg("-fsSL")
        .arg("--connect-timeout")
        .arg(FETCH_CONNECT_SECS.to_string())
        .arg("--max-time")
        .arg(FETCH_TRY_SECS.to_string())
        .arg("--retry")
        .arg(FETCH_RETRIES.to_string())
        .arg("--retry-delay")
        .arg(FETCH_RETRY_DELAY_SECS.to_string())
        .arg("--max-filesize")
        .arg(MAX_CONFIG_BYTES.to_string())
        .arg("--")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{shown}: cannot run curl to fetch the install config"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        bail!("{shown}: curl's output could not be read");
    };
    // Both pipes are read while curl runs, each up to its limit; dropping a
    // pipe at the limit makes curl's next write fail, and curl exits.
    let body = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut b);
        b
    });
    let said = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.take(64 * 1024).read_to_end(&mut b);
        b
    });
    let deadline = Duration::from_secs(FETCH_BOUND_SECS);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if body.is_finished() {
            // The answer ended, or reached the limit: then stop curl now.
            break None;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{shown}: fetching the install config timed out: no complete answer within {FETCH_BOUND_SECS} s"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let body = body.join().unwrap_or_default();
    if body.len() as u64 > MAX_CONFIG_BYTES {
        let _ = child.kill();
        let _ = child.wait();
        bail!("{shown}: larger than {MAX_CONFIG_BYTES} bytes: not an install config (stopped reading there)");
    }
    // curl closed its output: it is exiting.
    let status = match status {
        Some(s) => s,
        None => child.wait()?,
    };
    let said = said.join().unwrap_or_default();
    if !status.success() {
        // One line: curl's last word (with --retry it may say one per try).
        let text = String::from_utf8_lossy(&said);
        let why = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let tries = FETCH_RETRIES + 1;
        let hint = match status.code() {
            Some(6) => {
                " (the installer's chroot has no DNS: use an IP address in install.config_url)".to_owned()
            }
            Some(7) => " (no route to the server from the installer, or nothing listens there)".to_owned(),
            Some(28) => format!(
                ": timed out ({tries} tries of at most {FETCH_TRY_SECS} s, connect timeout {FETCH_CONNECT_SECS} s): the server accepted the connection but did not answer in time"
            ),
            _ => String::new(),
        };
        bail!(
            "{shown}: fetching the install config failed: curl exit {}: {why}{hint}",
            status.code().map_or("by a signal".into(), |c| c.to_string())
        );
    }
    String::from_utf8(body).map_err(|e| {
        anyhow::anyhow!(
            "{shown}: not valid UTF-8 text (byte offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn run_inner(args: &Options, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let target = &args.target;
    let cfg = match args.source.clone() {
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
            // what is said (and logged on /oem) never holds the URL's secrets
            let shown = redact_url(&url);
            writeln!(out, "install config: {shown} (from {from})")?;
            let text = fetch(&url, &shown)?;
            config::parse(Path::new(&shown), &text)?
        }
    };
    let file = cfg.file.clone();
    let Some(mut cfg) = cfg.intent() else {
        writeln!(
            out,
            "{}: no sriov section: nothing to do, SR-IOV not configured",
            file.display()
        )?;
        return Ok(ExitCode::Success);
    };
    if cfg.sriov.enabled && cfg.hostname.is_none() {
        match installer_hostname(&target.root)? {
            Some(h) => {
                writeln!(
                    out,
                    "node name: {h} (no os.hostname in the config: the host name the installer chose, from {INSTALLER_CLOUD_CONFIG})"
                )?;
                cfg.hostname = Some(h);
            }
            None => {
                let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
                let kernel = kernel.trim();
                // harvester/harvester-installer:pkg/console/install_panels.go
                // checkDHCPHostname: the live system's name is kept unless it
                // is `rancher` (pkg/console/constant.go defaultHostname) or
                // empty; then generateHostName picks `harvester-` + 5 random
                // characters, known only to the installer.
                if kernel.is_empty() || kernel == INSTALLER_DEFAULT_HOSTNAME {
                    bail!(
                        "the node name cannot be known: no os.hostname in the config, no hostname in {INSTALLER_CLOUD_CONFIG}, and this system's host name is {kernel:?}, which the installer replaces with a random harvester-XXXXX: set os.hostname; SR-IOV not configured"
                    );
                }
                writeln!(
                    out,
                    "node name: {kernel} (no os.hostname in the config and none in {INSTALLER_CLOUD_CONFIG}: this system's host name, which the installer keeps)"
                )?;
            }
        }
    }
    writeln!(out, "{}: applying its sriov section", cfg.file.display())?;
    let p = Pipeline::build(target, &cfg, false)?;
    if args.strict && !p.plan().warnings.is_empty() {
        for w in &p.plan().warnings {
            writeln!(err, "warning: {w}")?;
        }
        writeln!(
            err,
            "error: --strict: {} warning(s), nothing written: SR-IOV not configured",
            p.plan().warnings.len()
        )?;
        return Ok(ExitCode::Error);
    }
    pipeline::write_out(&p, &target.root, false, out, err)?;
    Ok(ExitCode::Success)
}

/// The cloud-config the installer gives `elemental install` (its
/// `install.cloud-init`, harvester/harvester-installer:pkg/console/util.go
/// `generateEnvAndConfig`, pkg/config/cos.go `ConvertToElementalConfig`),
/// which elemental copies to the OEM partition as `90_custom.yaml` before the
/// after-install-chroot stage (rancher/elemental-toolkit:pkg/action/install.go
/// `refineDeployment`, pkg/elemental/elemental.go `CopyCloudConfig`). It is
/// `ConvertToCOS`'s yip file, whose `network` (and, but for `install` mode,
/// `initramfs`) stage carries `hostname:` = the installer's chosen host name.
pub(crate) const INSTALLER_CLOUD_CONFIG: &str = "/oem/90_custom.yaml";
/// The live system's host name the installer replaces
/// (harvester/harvester-installer:pkg/console/constant.go `defaultHostname`).
const INSTALLER_DEFAULT_HOSTNAME: &str = "rancher";

/// The host name the installer chose, from its cloud-config in the target,
/// when that file is there and names one. An unreadable or odd file is no
/// name (the caller says so).
fn installer_hostname(target: &Path) -> anyhow::Result<Option<String>> {
    let Ok(Some((_, bytes))) =
        crate::write::read_file(target, Path::new(INSTALLER_CLOUD_CONFIG), MAX_CONFIG_BYTES)
    else {
        return Ok(None);
    };
    let Ok(doc) = serde_yaml::from_slice::<serde_yaml::Value>(&bytes) else {
        return Ok(None);
    };
    for stage in ["network", "initramfs"] {
        let steps = doc
            .get("stages")
            .and_then(|s| s.get(stage))
            .and_then(|s| s.as_sequence());
        for step in steps.into_iter().flatten() {
            if let Some(h) = step
                .get("hostname")
                .and_then(|h| h.as_str())
                .map(str::trim)
                .filter(|h| !h.is_empty())
            {
                return Ok(Some(h.to_owned()));
            }
        }
    }
    Ok(None)
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
