//! Bounded reads: every input the tool reads (the install config, the state,
//! files in the target) has a size limit, and no read trusts a size the
//! metadata gives.

use std::io::{self, Read};

/// Read all of `reader` when it holds at most `limit` bytes: `Ok(None)`
/// when it holds more. Reads at most `limit + 1` bytes, so an endless
/// source (`/dev/zero`, a FIFO fed forever) returns promptly: the size the
/// metadata gives is never trusted (a device or a FIFO says 0).
pub(crate) fn read_at_most(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}
