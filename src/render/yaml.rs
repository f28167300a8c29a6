//! A YAML emitter for the files Go tools read (yip, RKE2, Kubernetes), which
//! parse YAML 1.1 (gopkg.in/yaml.v2): there `on`, `yes`, `n`, `0x10`,
//! `1_000` and `2001-01-01` are not strings. Every string scalar is written
//! double-quoted (JSON escaping is valid YAML 1.1 double-quoting), so no
//! value can change type on the way; mapping keys are written plain only
//! when they are made of safe characters and are not a YAML 1.1 special
//! word. The output is deterministic: keys keep the order they were built in.

use serde_json::Value;

/// Words YAML 1.1 resolves to booleans or null, in any of the case forms it accepts.
const SPECIAL_WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"];

fn plain_key_ok(k: &str) -> bool {
    let first_ok = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+".contains(c))
        && !SPECIAL_WORDS.contains(&k.to_ascii_lowercase().as_str())
}

fn quoted(s: &str) -> String {
    // serde_json escapes ", \ and control characters; it never emits `\/`,
    // which YAML 1.1 would not accept.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn key(k: &str) -> String {
    if plain_key_ok(k) { k.to_owned() } else { quoted(k) }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(quoted(s)),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn emit(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match scalar(val) {
                    Some(s) => out.push_str(&format!("{pad}{}: {s}\n", key(k))),
                    None => {
                        out.push_str(&format!("{pad}{}:\n", key(k)));
                        // Sequences under a key are indented too: readable and valid.
                        emit(out, val, indent + 2);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        // Nested block after "- ": first line shares the dash.
                        let mut inner = String::new();
                        emit(&mut inner, item, indent + 2);
                        let body = inner.get(indent + 2..).unwrap_or("");
                        out.push_str(&format!("{pad}- {body}"));
                    }
                }
            }
        }
        other => {
            if let Some(s) = scalar(other) {
                out.push_str(&format!("{pad}{s}\n"));
            }
        }
    }
}

/// Render one YAML document (no `---`), ending in a newline.
pub(crate) fn to_string(v: &Value) -> String {
    let mut out = String::new();
    match scalar(v) {
        Some(s) => {
            out.push_str(&s);
            out.push('\n');
        }
        None => emit(&mut out, v, 0),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Strings that YAML 1.1 (yip, Kubernetes) would otherwise read as
    /// booleans, numbers or dates stay strings through this emitter, when
    /// read back by a YAML parser.
    #[test]
    fn yaml11_lookalikes_stay_strings() {
        let words = [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "n",
            "Y",
            "N",
            "YES",
            "On",
            "true",
            "False",
            "null",
            "~",
            "1_000",
            "2001-01-01",
            "0x10",
            "010",
            "1e3",
            ".inf",
            "-.5",
            "0b101",
            "12:30:00",
            "",
            " lead",
            "a: b",
            "- x",
            "#c",
            "'q'",
            "\"dq\"",
            "multi\nline",
            "tab\tx",
            "ünï",
        ];
        for w in words {
            let doc = json!({ "value": w, "list": [w], w: "k" });
            let text = to_string(&doc);
            let back: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            assert_eq!(
                back["value"],
                serde_yaml::Value::String(w.into()),
                "{w:?} in\n{text}"
            );
            assert_eq!(back["list"][0], serde_yaml::Value::String(w.into()), "{w:?}");
            // every string scalar is double-quoted: no YAML 1.1 resolver can retype it
            assert!(
                text.contains(&format!("value: {}", serde_json::to_string(w).unwrap())),
                "{text}"
            );
        }
    }

    #[test]
    fn nested_blocks() {
        let doc = json!({
            "stages": {"boot": [{"name": "a", "commands": ["x y"]}, {"files": [{"path": "/p", "permissions": 420}]}]},
            "empty": [], "none": {}, "n": 3, "b": true
        });
        let text = to_string(&doc);
        assert_eq!(
            text,
            "stages:\n  boot:\n    - name: \"a\"\n      commands:\n        - \"x y\"\n    - files:\n        - path: \"/p\"\n          permissions: 420\nempty: []\nnone: {}\n\"n\": 3\nb: true\n"
        );
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, doc);
    }
}
