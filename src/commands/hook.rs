//! `hook`: the unattended entry point for Harvester's
//! `os.after_install_chroot_commands` (or an Elemental `after-install-chroot`
//! stage). It finds the install config, and applies its `sriov` section into
//! the installed system through the same [`Pipeline`] as `apply`.
//!
//! A non-zero exit here aborts the whole Harvester installation, so soft
//! problems (a rule that matches nothing, no SR-IOV NIC on this node) are
//! warnings and exit 0; `--strict` makes them failures. A hard error (an
//! invalid config) fails before anything is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ExitCode;
use crate::cli::HookArgs;
use crate::pipeline::{self, Pipeline, Target};
use crate::write;

/// Where the hook looks for the install config when `--config` is not
/// given, inside `--target`: inside `after_install_chroot_commands` the
/// target is `/`, and Harvester has put the raw config at
/// `/oem/harvester.config` (and cloud-init user data at `/oem/userdata.yaml`).
pub const CONFIG_CANDIDATES: &[&str] = &["/oem/harvester.config", "/oem/userdata.yaml"];

/// The install config: the given file, or the first candidate inside the
/// target, opened through the writer's resolver (a `/oem` symlink inside
/// the target leads where `apply` writes).
pub enum Found {
    Given(PathBuf),
    InTarget(PathBuf, std::fs::File),
}

impl Found {
    pub fn path(&self) -> &Path {
        match self {
            Found::Given(p) | Found::InTarget(p, _) => p,
        }
    }

    fn load(self) -> Result<crate::intent::config::InstallConfig, crate::intent::config::ConfigError> {
        match self {
            Found::Given(p) => crate::intent::config::load(&p),
            Found::InTarget(p, f) => crate::intent::config::load_from(&p, f),
        }
    }
}

/// The config file to read: the given one (which must exist), else the
/// first candidate inside the target root that exists; `Ok(Err(looked))`
/// when there is none.
pub fn find_config(
    explicit: Option<&Path>,
    root: &Path,
) -> Result<Result<Found, Vec<PathBuf>>, write::FsError> {
    if let Some(p) = explicit {
        return Ok(Ok(Found::Given(p.to_owned())));
    }
    for c in CONFIG_CANDIDATES {
        if let Some((host, file)) = write::open_file(root, Path::new(c))? {
            return Ok(Ok(Found::InTarget(host, file)));
        }
    }
    Ok(Err(CONFIG_CANDIDATES
        .iter()
        .map(|c| root.join(c.trim_start_matches('/')))
        .collect()))
}

pub fn run(opts: &HookArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let target = Target {
        sysfs: opts.sysfs.clone(),
        root: opts.target.clone(),
    };
    let found = match find_config(opts.config.as_deref(), &target.root)? {
        Ok(c) => c,
        Err(looked) => {
            let list: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
            writeln!(
                err,
                "warning: no install config found (looked at {}): nothing to do",
                list.join(", ")
            )?;
            return Ok(soft(opts.strict, err)?);
        }
    };
    // A hard error (unreadable or invalid config) returns here: nothing written.
    let config = found.path().to_owned();
    let cfg = found.load()?;
    let Some(sriov) = cfg.sriov.clone() else {
        writeln!(out, "{}: no sriov section: nothing to do", config.display())?;
        return Ok(ExitCode::Success);
    };
    writeln!(out, "{}: applying its sriov section", config.display())?;
    let p = Pipeline::build(&target, &cfg, &sriov)?;
    if opts.strict && !p.plan.warnings.is_empty() {
        for w in &p.plan.warnings {
            writeln!(err, "warning: {w}")?;
        }
        writeln!(
            err,
            "error: --strict: {} warning(s), nothing written",
            p.plan.warnings.len()
        )?;
        return Ok(ExitCode::Error);
    }
    pipeline::write_out(&p, &target.root, false, out, err)?;
    Ok(ExitCode::Success)
}

fn soft(strict: bool, err: &mut dyn Write) -> std::io::Result<ExitCode> {
    if strict {
        writeln!(err, "error: --strict: a warning is a failure, nothing written")?;
        Ok(ExitCode::Error)
    } else {
        Ok(ExitCode::Success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lookup_order() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = root.path();
        let found = |explicit: Option<&Path>| match find_config(explicit, r) {
            Ok(Ok(f)) => Some(f.path().to_owned()),
            Ok(Err(_)) => None,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(found(None), None);
        // /oem is a link inside the target, as on an installed system whose
        // /oem lives on another partition: followed inside the target.
        std::fs::create_dir_all(r.join("data/oem")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("/data/oem", r.join("oem")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(r.join("data/oem/userdata.yaml"), "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found(None), Some(r.join("oem/userdata.yaml")));
        std::fs::write(r.join("data/oem/harvester.config"), "").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found(None), Some(r.join("oem/harvester.config")));
        let given = Path::new("/elsewhere.yaml");
        assert_eq!(found(Some(given)), Some(given.to_owned()));
    }
}
