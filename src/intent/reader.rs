//! Reading a parsed YAML value with the key path in every error: the
//! error type, the scalar readers, and the field table every mapping of the
//! tool's own schema is read through (an unknown key is an error with a
//! "did you mean"; the list of known keys is the table itself).

use std::path::{Path, PathBuf};

use serde_yaml::Value;

/// A config file larger than this is refused before parsing (at most this
/// many bytes + 1 are read).
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("{file}: cannot read")]
    Read { file: PathBuf, source: std::io::Error },
    #[error("{file}: more than {MAX_CONFIG_BYTES} bytes, too large for an install config")]
    TooLarge { file: PathBuf },
    #[error("{file}: not valid UTF-8 text (byte offset {offset})")]
    NotUtf8 { file: PathBuf, offset: usize },
    #[error("{file}: not valid YAML: {message}")]
    Yaml { file: PathBuf, message: String },
    #[error("{file}: {key}: {message}")]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
}

/// `managementInterface` -> `management_interface`; `sriov-config` stays.
pub(crate) fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(crate) fn did_you_mean(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (distance(key, k), k))
        .filter(|(d, k)| *d <= 2 + k.len() / 3)
        .min()
        .map_or_else(
            || format!(" (known keys: {})", known.join(", ")),
            |(_, k)| format!(" (did you mean `{k}`?)"),
        )
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// One key of a mapping in the tool's schema: its snake_case name and how
/// its value is read into the value being built.
pub(crate) struct Field<T> {
    pub(crate) name: &'static str,
    pub(crate) read: FieldReader<T>,
}

/// Reads one value (`key` is its full path, for messages) into `T`.
pub(crate) type FieldReader<T> = fn(&Ctx, &str, &Value, &mut T) -> Result<(), ConfigError>;

/// Walks the parsed YAML and names every key path in its errors.
pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a Path,
}

impl Ctx<'_> {
    pub(crate) fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_owned(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// A mapping's entries with snake_case keys; duplicates (after
    /// normalising `numVfs`/`num_vfs`) and non-string keys are errors.
    pub(crate) fn entries<'v>(
        &self,
        key: &str,
        v: &'v Value,
    ) -> Result<Vec<(String, &'v Value)>, ConfigError> {
        let Value::Mapping(m) = v else {
            return Err(self.err(key, format!("expected a mapping, got {}", describe(v))));
        };
        let mut out: Vec<(String, &Value)> = Vec::with_capacity(m.len());
        for (k, val) in m {
            let Value::String(k) = k else {
                return Err(self.err(key, format!("keys must be strings, got {}", describe(k))));
            };
            let norm = snake_case(k);
            if out.iter().any(|(seen, _)| *seen == norm) {
                return Err(self.err(
                    &join(key, k),
                    "given twice (snake_case and camelCase are the same key)",
                ));
            }
            out.push((norm, val));
        }
        Ok(out)
    }

    /// Reads mapping `v` at `key` into `into` through `fields`, the one
    /// place a mapping's keys are written: a key not in the table is an
    /// error naming the known ones.
    pub(crate) fn read_fields<T>(
        &self,
        key: &str,
        v: &Value,
        fields: &[Field<T>],
        into: &mut T,
    ) -> Result<(), ConfigError> {
        for (k, val) in self.entries(key, v)? {
            let Some(field) = fields.iter().find(|f| f.name == k) else {
                let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                return Err(self.err(&join(key, &k), format!("unknown key{}", did_you_mean(&k, &names))));
            };
            (field.read)(self, &join(key, &k), val, into)?;
        }
        Ok(())
    }

    /// Booleans: YAML's `true`/`false` only. A string is never a boolean
    /// here: `"true"`, `"yes"`, and unquoted `yes`/`on`/`y` (which this YAML
    /// 1.2 reader, like Harvester's yaml.v3, reads as text) are refused with
    /// the key and the value, instead of being guessed one way or the other.
    pub(crate) fn bool(&self, key: &str, v: &Value) -> Result<bool, ConfigError> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::String(_) => Err(self.err(
                key,
                format!(
                    "expected true or false, got the text {} (write true or false without quotes; yes/no/on/off are text to this reader)",
                    describe(v)
                ),
            )),
            _ => Err(self.err(key, format!("expected true or false, got {}", describe(v)))),
        }
    }

    pub(crate) fn int(&self, key: &str, v: &Value, min: u64, max: u64) -> Result<u64, ConfigError> {
        let n = match v {
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(self.err(
                key,
                format!("expected a whole number from {min} to {max}, got {}", describe(v)),
            )),
        }
    }

    pub(crate) fn string(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            // Numbers written without quotes (`vendor: 8086`) are meant as text.
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(self.err(key, format!("expected text, got {}", describe(v)))),
        }
    }

    pub(crate) fn nonempty(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        let s = self.string(key, v)?;
        if s.trim().is_empty() {
            return Err(self.err(key, "must not be empty"));
        }
        Ok(s)
    }
}

pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}
