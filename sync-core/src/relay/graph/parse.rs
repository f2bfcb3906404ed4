//! Structural checks of incoming change chunks, without applying them: automerge parses the
//! chunk header, checks its checksum, and decodes every op column; nothing is applied.

use automerge::{ActorId, Change, ChangeHash};

/// Why a chunk was refused. The sender gets `bad_message`; it should resend what automerge
/// itself produced (one change per chunk).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeError {
    /// A whole document instead of a change: the relay keeps changes only. Send changes (a
    /// sync message of version 1, which the relay's messages ask for).
    #[error("a document chunk where a change was expected")]
    DocumentChunk,
    /// The bytes are not a well-formed change. Nothing can fix them; resync from scratch.
    #[error("malformed change: {0}")]
    Malformed(String),
    /// A second change with an actor's sequence number that another change already has.
    /// The sending replica forked its actor; it must use a new actor id.
    #[error("actor {actor} already has a change with seq {seq}")]
    DuplicateSeq {
        /// The actor, hex.
        actor: String,
        /// The sequence number.
        seq: u64,
    },
}

/// One change as the room keeps it: the bytes as received and what the graph needs of them.
#[derive(Debug, Clone)]
pub(crate) struct ParsedChange {
    pub(crate) hash: ChangeHash,
    pub(crate) deps: Vec<ChangeHash>,
    pub(crate) actor: ActorId,
    pub(crate) seq: u64,
    pub(crate) bytes: Vec<u8>,
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;

/// Parses one change chunk (plain or compressed).
pub(crate) fn parse_change(bytes: Vec<u8>) -> Result<ParsedChange, ChangeError> {
    if bytes.len() > 8 && bytes[..4] == MAGIC && bytes[8] == DOCUMENT {
        return Err(ChangeError::DocumentChunk);
    }
    let change = Change::try_from(&bytes[..]).map_err(|e| ChangeError::Malformed(e.to_string()))?;
    // automerge parses without checking the header's checksum: the first bytes of the hash.
    if bytes.get(4..8) != Some(&change.hash().0[..4]) {
        return Err(ChangeError::Malformed("checksum mismatch".into()));
    }
    Ok(ParsedChange {
        hash: change.hash(),
        deps: change.deps().to_vec(),
        actor: change.actor_id().clone(),
        seq: change.seq(),
        bytes,
    })
}

/// Splits concatenated chunks (a stored log row) at their headers: `(offset, len, is_document)`.
/// `None` if the bytes are not a sequence of whole chunks.
pub(crate) fn split_chunks(bytes: &[u8]) -> Option<Vec<(usize, usize, bool)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 10 || rest[..4] != MAGIC {
            return None;
        }
        let (len, used) = read_uleb(&rest[9..])?;
        let total = 9usize
            .checked_add(used)?
            .checked_add(usize::try_from(len).ok()?)?;
        if total > rest.len() {
            return None;
        }
        out.push((at, total, rest[8] == DOCUMENT));
        at += total;
    }
    Some(out)
}

/// Reads an unsigned LEB128; the value and the bytes it took.
pub(crate) fn read_uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

pub(crate) fn write_uleb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
