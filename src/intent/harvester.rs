//! The Harvester keys the tool reads, read with the installer's own rule.
//!
//! harvester/harvester-installer:`pkg/config/schemas.go` `LoadHarvesterConfig`
//! unmarshals the YAML into a map, runs rancher/mapper's schema mappers over
//! it, then `convert.ToObj` (rancher/mapper:`convert/convert.go`:
//! `json.Marshal`, then `json.Unmarshal` into `HarvesterConfig`). So a field
//! is found at one level of the config in two ways:
//!
//! - **Fuzzy names** (harvester/harvester-installer:`pkg/config/rename.go`
//!   `FuzzyNames`): a key that is the field's JSON name lower-cased, or
//!   `convert.ToYAMLKey` of it, or that lower-cased (each also for the name
//!   without a trailing `s` and without `es`), is copied to the JSON name.
//!   The mappers run only on the levels they reach through those exact names
//!   (rancher/mapper:`mapper.go` `typeMapper.ToInternal`); booleans are
//!   coerced there with `convert.ToBool` before the renaming
//!   (`pkg/config/coerce.go` `NewToBool`, listed before `FuzzyNames`).
//! - **Go's `encoding/json`**: any key equal to the JSON name ignoring case
//!   (ASCII case, and `ſ`/`K`, which fold to `s`/`k`).
//!
//! Two keys reaching one field with different values are refused: the
//! installer keeps one by map order, which nobody can tell from the file.
//! A value of the wrong type is refused: the installer cannot load it.

use serde_yaml::Value;

use crate::intent::model::{InstallConfig, MgmtNic};
use crate::intent::reader::{ConfigError, Ctx, describe, join};

/// rancher/mapper:`convert/convert.go` `ToYAMLKey`, rule for rule:
/// `hwAddr` -> `hw_addr`, `managementInterface` -> `management_interface`.
pub(crate) fn to_yaml_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut cap = false;
    for (i, c) in name.chars().enumerate() {
        if i == 0 {
            cap = c.is_uppercase();
            out.extend(c.to_lowercase());
        } else if c.is_uppercase() {
            if !cap {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            cap = false;
            out.push(c);
        }
    }
    out
}

/// The keys `FuzzyNames` renames to JSON field name `field`
/// (`addName(name)`: `strings.ToLower(name)`, `ToYAMLKey(name)`, and
/// `strings.ToLower(ToYAMLKey(name))`, for the name and its `s`/`es`-less
/// forms). The JSON name itself is not among them unless it is one of those.
pub(crate) fn fuzzy_names(field: &str) -> Vec<String> {
    let mut bases = vec![field];
    if field.len() > 1
        && let Some(b) = field.strip_suffix('s')
    {
        bases.push(b);
    }
    if field.len() > 2
        && let Some(b) = field.strip_suffix("es")
    {
        bases.push(b);
    }
    let mut out: Vec<String> = vec![];
    for b in bases {
        let y = to_yaml_key(b);
        for s in [b.to_lowercase(), y.to_lowercase(), y] {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Go's `encoding/json` field-name folding (`foldName`): ASCII letters
/// upper-cased, and every other rune to the smallest of its case-fold set;
/// only `ſ` (to `S`) and the Kelvin sign (to `K`) fold onto ASCII.
fn json_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ſ' => 'S',
            '\u{212A}' => 'K',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// True when Go's `encoding/json` would fill field `json_name` from `key`.
pub(crate) fn json_matches(key: &str, json_name: &str) -> bool {
    key == json_name || json_fold(key) == json_fold(json_name)
}

/// One level of the config (a Go struct of the installer) as its loader
/// reaches it: `mapped` when the schema mappers run on it.
#[derive(Clone)]
struct Level<'v> {
    key: String,
    value: &'v Value,
    mapped: bool,
}

/// What reaches one field: the key it was written as, its value, and
/// whether the mappers saw it under the field's own name.
struct Found<'v> {
    key: String,
    value: &'v Value,
    mapped: bool,
    /// Written as the exact JSON name (the boolean coercion runs only there).
    exact: bool,
}

/// Every key of `level` that reaches Harvester field `json` (its JSON name).
fn candidates<'v>(ctx: &Ctx, level: &Level<'v>, json: &str) -> Result<Vec<Found<'v>>, ConfigError> {
    let m = match level.value {
        Value::Mapping(m) => m,
        Value::Null => return Ok(vec![]),
        other => {
            return Err(ctx.err(
                &level.key,
                format!(
                    "expected a mapping, got {}: Harvester's installer cannot load this config",
                    describe(other)
                ),
            ));
        }
    };
    let fuzzy = fuzzy_names(json);
    let mut out = vec![];
    for (k, v) in m {
        let Value::String(k) = k else { continue };
        let by_fuzzy = level.mapped && fuzzy.contains(k);
        if v.is_null() || !(by_fuzzy || json_matches(k, json)) {
            continue;
        }
        out.push(Found {
            key: join(&level.key, k),
            value: v,
            mapped: level.mapped && (by_fuzzy || k == json),
            exact: k == json,
        });
    }
    Ok(out)
}

/// The one value of field `json`, refusing two different ones.
fn field<'v>(ctx: &Ctx, level: &Level<'v>, json: &str) -> Result<Option<Level<'v>>, ConfigError> {
    let found = candidates(ctx, level, json)?;
    let Some(first) = found.first() else {
        return Ok(None);
    };
    if let Some(other) = found.iter().find(|f| f.value != first.value) {
        return Err(conflict(ctx, &other.key, &first.key));
    }
    Ok(Some(Level {
        key: first.key.clone(),
        value: first.value,
        mapped: found.iter().any(|f| f.mapped),
    }))
}

fn conflict(ctx: &Ctx, key: &str, first: &str) -> ConfigError {
    ctx.err(
        key,
        format!(
            "conflicts with `{first}`: Harvester's installer reads both as one key and keeps one of them by map order; give it once"
        ),
    )
}

/// A Go `string` field: JSON text only (a number or boolean there makes
/// `json.Unmarshal`, and so the installer's loader, fail).
fn text(ctx: &Ctx, level: &Level, json: &str) -> Result<Option<String>, ConfigError> {
    let Some(l) = field(ctx, level, json)? else {
        return Ok(None);
    };
    match l.value {
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(ctx.err(
            &l.key,
            format!(
                "expected text, got {}: Harvester's installer cannot load this config (quote the value)",
                describe(other)
            ),
        )),
    }
}

/// rancher/mapper:`convert/convert.go` `ToBool`: `Singular` (a list gives
/// its first item), then a boolean, or text `true`/`t`/`yes`/`y` in any
/// case after trimming; anything else is false.
pub(crate) fn mapper_to_bool(v: &Value) -> bool {
    let v = match v {
        Value::Sequence(items) => match items.first() {
            Some(first) => first,
            None => return false,
        },
        other => other,
    };
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.trim().to_lowercase().as_str(), "true" | "t" | "yes" | "y"),
        _ => false,
    }
}

/// A Go `bool` field: coerced with `ToBool` where the mappers see it under
/// its exact name, otherwise a JSON boolean only.
fn boolean(ctx: &Ctx, level: &Level, json: &str) -> Result<Option<bool>, ConfigError> {
    let found = candidates(ctx, level, json)?;
    let mut seen: Option<(String, bool)> = None;
    for f in found {
        let b = match f.value {
            _ if level.mapped && f.exact => mapper_to_bool(f.value),
            Value::Bool(b) => *b,
            other => {
                return Err(ctx.err(
                    &f.key,
                    format!(
                        "expected true or false, got {}: Harvester's installer cannot load this config (it coerces only the key spelled `{json}`)",
                        describe(other)
                    ),
                ));
            }
        };
        match &seen {
            Some((first, before)) if *before != b => return Err(conflict(ctx, &f.key, first)),
            Some(_) => {}
            None => seen = Some((f.key, b)),
        }
    }
    Ok(seen.map(|(_, b)| b))
}

/// Go's `net.ParseMAC` for the 6-byte forms (`aa:bb:..`, `aa-bb-..`,
/// `aabb.ccdd.eeff`), printed as `HardwareAddr.String()` prints it; the
/// installer compares MACs in that form
/// (harvester/harvester-installer:`pkg/config/config.go` `FindNetworkInterfaceName`).
pub(crate) fn canonical_mac(s: &str) -> Option<String> {
    let hex2 = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit());
    let bytes: Vec<String> = if s.len() == 17 && (s.as_bytes()[2] == b':' || s.as_bytes()[2] == b'-') {
        let sep = s.as_bytes()[2] as char;
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 6 || !parts.iter().all(|p| hex2(p)) {
            return None;
        }
        parts.iter().map(|p| p.to_ascii_lowercase()).collect()
    } else if s.len() == 14 && s.as_bytes()[4] == b'.' {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 3
            || !parts
                .iter()
                .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return None;
        }
        parts
            .iter()
            .flat_map(|p| [p[..2].to_ascii_lowercase(), p[2..].to_ascii_lowercase()])
            .collect()
    } else {
        return None;
    };
    Some(bytes.join(":"))
}

fn parse_mgmt(ctx: &Ctx, ifs: &Level) -> Result<Vec<MgmtNic>, ConfigError> {
    let Value::Sequence(items) = ifs.value else {
        return Err(ctx.err(
            &ifs.key,
            format!(
                "expected a list, got {}: Harvester's installer cannot load this config",
                describe(ifs.value)
            ),
        ));
    };
    let mut out = vec![];
    for (i, item) in items.iter().enumerate() {
        let level = Level {
            key: format!("{}[{i}]", ifs.key),
            value: item,
            mapped: ifs.mapped,
        };
        let mut nic = MgmtNic {
            name: text(ctx, &level, "name")?.filter(|n| !n.is_empty()),
            hw_addr: None,
        };
        if let Some(l) = field(ctx, &level, "hwAddr")?
            && let Some(a) = text(ctx, &level, "hwAddr")?
            && !a.is_empty()
        {
            let Some(mac) = canonical_mac(&a) else {
                return Err(ctx.err(
                    &l.key,
                    format!("{a:?} is not a MAC address like \"00:1b:21:2b:46:e1\" (the installer parses it with Go's net.ParseMAC)"),
                ));
            };
            nic.hw_addr = Some(mac);
        }
        out.push(nic);
    }
    Ok(out)
}

/// The key that turns Harvester's pcidevices addon on.
const PCIDEVICES_ADDON: &str = "harvester_pcidevices_controller";

/// `os.hostname`, `os.additionalKernelArguments`, `install.mode`,
/// `install.role`, `install.managementInterface.interfaces[].name/hwAddr`
/// and `install.addons.harvester_pcidevices_controller.enabled`.
pub(crate) fn read(ctx: &Ctx, doc: &Value, cfg: &mut InstallConfig) -> Result<(), ConfigError> {
    let top = Level {
        key: String::new(),
        value: doc,
        mapped: true,
    };
    if let Some(os) = field(ctx, &top, "os")? {
        cfg.hostname = text(ctx, &os, "hostname")?.filter(|h| !h.is_empty());
        cfg.kernel_args = text(ctx, &os, "additionalKernelArguments")?;
    }
    let Some(install) = field(ctx, &top, "install")? else {
        return Ok(());
    };
    cfg.install_mode = text(ctx, &install, "mode")?;
    cfg.install_role = text(ctx, &install, "role")?;
    if let Some(mi) = field(ctx, &install, "managementInterface")?
        && let Some(ifs) = field(ctx, &mi, "interfaces")?
    {
        cfg.management = parse_mgmt(ctx, &ifs)?;
    }
    // `addons` is a Go map: its keys are addon names, matched exactly.
    if let Some(addons) = field(ctx, &install, "addons")? {
        let Value::Mapping(m) = addons.value else {
            return Err(ctx.err(
                &addons.key,
                format!(
                    "expected a mapping, got {}: Harvester's installer cannot load this config",
                    describe(addons.value)
                ),
            ));
        };
        if let Some(pd) = m.get(PCIDEVICES_ADDON) {
            let level = Level {
                key: join(&addons.key, PCIDEVICES_ADDON),
                value: pd,
                mapped: addons.mapped,
            };
            cfg.pcidevices_addon = boolean(ctx, &level, "enabled")?;
        }
    }
    Ok(())
}
