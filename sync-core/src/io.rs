//! Identifiers shared by the state machines and their shells.

use std::fmt;

/// A connection, as numbered by the shell. The state machines never make these up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn-{}", self.0)
    }
}

/// A storage task handed to the shell; the shell reports its outcome with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

/// Milliseconds since the Unix epoch, as the shell's clock reads it. The machines only compare
/// and add these; they never read a clock.
pub type Millis = u64;

/// Hex change hashes, sorted, as carried in `ack` messages.
pub(crate) fn heads_to_hex(heads: &[automerge::ChangeHash]) -> Vec<String> {
    let mut out: Vec<String> = heads.iter().map(ToString::to_string).collect();
    out.sort();
    out
}
