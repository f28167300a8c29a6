//! `configure --save`: write the answers file through the same
//! transactional writer as `apply`, over nothing but an earlier answers file.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::intent::answers::ANSWERS_MARKER;

/// `--save` may create a file or replace an earlier answers file, nothing else.
pub(crate) fn check_save_path(path: &Path) -> anyhow::Result<()> {
    let yaml_name = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if yaml_name && path.starts_with("/oem") {
        anyhow::bail!(
            "--save {}: yip loads every *.yaml and *.yml under /oem as a cloud-config at every boot; \
             use another name (the node's own answers are kept as {})",
            path.display(),
            crate::layout::ANSWERS_PATH
        );
    }
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
pub(crate) fn save_answers(path: &Path, text: &str) -> anyhow::Result<()> {
    check_save_path(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("--save {}: not a file name", path.display()))?;
    let spec = crate::write::FileSpec {
        path: Path::new("/").join(name),
        contents: text.as_bytes().to_vec(),
        mode: 0o644,
    };
    crate::write::commit(&dir, &[spec], &[], &|_, old| {
        old.starts_with(ANSWERS_MARKER.as_bytes())
    })
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
