//! Splitting one automerge sync message into several smaller ones that an unmodified automerge
//! peer accepts one after another.
//!
//! A sync message is heads + need + have + a list of changes. The receiver applies whatever
//! changes a message carries (queueing any whose dependencies have not arrived yet) and then
//! records the heads/need/have. So the same heads/need/have with the changes spread over several
//! messages, sent in order, leaves the receiver exactly where the single message would have.
//! The sender's sync state already counts every change as sent, so when the receiver answers an
//! early part by asking for changes still in flight, the sender does not send them twice.

use automerge::Automerge;
use automerge::sync::{ChunkList, Message as SyncMessage, MessageVersion};

use super::encode::bytes_head_len;
use super::message::Message;

/// Why a sync message cannot be split.
///
/// Recovery: the input is expected to come from our own automerge document; either error means
/// it did not, or automerge's format changed. Send the original bytes unsplit (or fragment them
/// for Tessera peers) and report the bug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The bytes are not an automerge sync message.
    #[error("not an automerge sync message: {0}")]
    BadSyncMessage(String),
    /// A v2 sync message's document chunk does not load as a document.
    #[error("sync message carries a document that does not load: {0}")]
    BadDocument(String),
}

/// Splits the automerge sync message `data` so that each returned sync message is at most
/// `max_data` bytes long; pass the result of [`max_sync_data_len`] to make each *frame* fit.
///
/// Every part has the original heads, need, have and flags and carries a run of the original
/// changes, in order. Send all of them, in order, in consecutive `sync` (or `request`) frames.
///
/// - If `data` already fits it is returned as the only part.
/// - A v2 message (the whole document as one compressed chunk, which automerge sends on a first
///   sync) is unpacked into its individual changes and sent as v1 messages, which every automerge
///   version reads. This loads the document once.
/// - A part may still exceed `max_data` when one change alone does, or when heads/need/have alone
///   do. Check each part; one that is still too big can only go to Tessera peers, as
///   [`fragment`](super::fragment())s.
pub fn split_sync_data(data: &[u8], max_data: usize) -> Result<Vec<Vec<u8>>, SplitError> {
    let message =
        SyncMessage::decode(data).map_err(|e| SplitError::BadSyncMessage(e.to_string()))?;
    if data.len() <= max_data {
        return Ok(vec![data.to_vec()]);
    }
    let changes = match message.version {
        MessageVersion::V1 => message.changes.iter().map(<[u8]>::to_vec).collect(),
        MessageVersion::V2 => unpack_document(&message.changes)?,
    };
    if changes.len() <= 1 {
        return Ok(vec![data.to_vec()]);
    }
    let template = Template::new(message);
    let mut parts = Vec::new();
    let mut current: Vec<Vec<u8>> = Vec::new();
    let mut current_len = 0;
    for change in changes {
        let added = leb128_len(change.len()) + change.len();
        if !current.is_empty() && template.len(current.len() + 1, current_len + added) > max_data {
            parts.push(template.part(std::mem::take(&mut current)));
            current_len = 0;
        }
        current.push(change);
        current_len += added;
    }
    parts.push(template.part(current));
    Ok(parts)
}

/// The most bytes of automerge sync data a frame like `envelope` (a `sync` or `request`) can
/// carry without exceeding `max_frame`; `envelope`'s own `data` is ignored. `None` when the
/// envelope has no `data` or leaves no room.
pub fn max_sync_data_len(envelope: &Message, max_frame: usize) -> Option<usize> {
    let empty = envelope.with_sync_data(Vec::new())?;
    // The empty data's one-byte head is replaced by the head of the largest data that fits.
    let overhead = empty.encode().len() - 1 + bytes_head_len(max_frame);
    max_frame.checked_sub(overhead).filter(|n| *n > 0)
}

/// Everything of the original message but its changes.
struct Template {
    message: SyncMessage,
    /// Encoded length with no changes (which includes a one-byte change count of zero).
    empty_len: usize,
}

impl Template {
    fn new(message: SyncMessage) -> Self {
        let mut message = SyncMessage {
            changes: ChunkList::empty(),
            version: MessageVersion::V1,
            ..message
        };
        // automerge's encoder expects sorted hash lists (it asserts so in debug builds). They are
        // sets, so sorting changes nothing for the receiver.
        message.heads.sort_unstable();
        message.need.sort_unstable();
        for have in &mut message.have {
            have.last_sync.sort_unstable();
        }
        let empty_len = message.clone().encode().len();
        Self { message, empty_len }
    }

    /// Encoded length of a part with `count` changes whose length-prefixed bytes total
    /// `changes_len`.
    fn len(&self, count: usize, changes_len: usize) -> usize {
        self.empty_len - 1 + leb128_len(count) + changes_len
    }

    fn part(&self, changes: Vec<Vec<u8>>) -> Vec<u8> {
        SyncMessage {
            changes: ChunkList::from(changes),
            ..self.message.clone()
        }
        .encode()
    }
}

/// The changes of a v2 message's document chunk, in causal order.
fn unpack_document(chunks: &ChunkList) -> Result<Vec<Vec<u8>>, SplitError> {
    // A scratch document: it only reads. (automerge gives it a random actor id, which is never
    // used because nothing is written.)
    let mut doc = Automerge::new();
    for chunk in chunks.iter() {
        doc.load_incremental(chunk)
            .map_err(|e| SplitError::BadDocument(e.to_string()))?;
    }
    Ok(doc
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect())
}

fn leb128_len(n: usize) -> usize {
    let bits = usize::BITS - n.leading_zeros();
    (bits.max(1) as usize).div_ceil(7)
}

#[cfg(test)]
mod tests;
