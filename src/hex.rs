//! Ids are lower-case hex strings without `0x` in every output.

use serde::Serializer;

pub fn ser_u16<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:04x}"))
}

pub fn ser_opt_u16<S: Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => ser_u16(v, s),
        None => s.serialize_none(),
    }
}

/// An id as every output writes it (`8086`); `None` stays `None`.
pub fn id(v: Option<u16>) -> Option<String> {
    v.map(|v| format!("{v:04x}"))
}
