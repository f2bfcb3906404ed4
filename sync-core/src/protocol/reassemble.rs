//! Putting `fragment` messages back together, with hard memory limits: fragments come from
//! peers, and a peer that starts many large messages and never finishes them must not be able to
//! grow the relay (a Durable Object has 128 MB in total).
//!
//! Each partial message remembers when its last fragment arrived (the caller passes `now`), so
//! a caller can drop the ones a peer abandoned with [`Reassembler::expire`].

use std::collections::BTreeMap;

use super::error_code::ErrorCode;
use super::message::Message;
use crate::io::Millis;

/// Bounds on what a [`Reassembler`] buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Bytes buffered across all partial messages at once; also the largest frame that can be
    /// reassembled. Default 4 MiB: the largest change a relay accepts (under 2 MB, one storage
    /// row) fits twice, and ten connections cannot fill an isolate.
    pub max_total_bytes: usize,
    /// Partial messages in progress at once. Default 4: a Tessera peer sends one fragmented
    /// frame after the other, so more than one at a time is already unusual.
    pub max_partial_messages: usize,
    /// Fragments one message may be cut into. Bounds the bookkeeping per message independently
    /// of the byte limit (tiny fragments cost more to track than they carry). Default 1024.
    pub max_fragments: u32,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 4 * 1024 * 1024,
            max_partial_messages: 4,
            max_fragments: 1024,
        }
    }
}

/// A fragment that cannot be accepted. After any of these the fragment's partial message (if
/// any) has been discarded, so its memory is free again.
///
/// Recovery: every variant means the peer is broken or hostile. Send an `error` with
/// [`ReassemblyError::error_code`] and close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReassemblyError {
    /// The message handed to [`Reassembler::accept`] is not a `fragment`.
    #[error("not a fragment message")]
    NotAFragment,
    /// `count` is zero.
    #[error("message {message_id}: fragment count is zero")]
    ZeroCount {
        /// The fragmented message.
        message_id: u64,
    },
    /// `index` is not below `count`.
    #[error("message {message_id}: fragment index {index} is not below count {count}")]
    IndexOutOfRange {
        /// The fragmented message.
        message_id: u64,
        /// The index received.
        index: u32,
        /// The count received.
        count: u32,
    },
    /// Fragments of one message disagree on `count`.
    #[error("message {message_id}: fragment count {got} differs from earlier {expected}")]
    CountMismatch {
        /// The fragmented message.
        message_id: u64,
        /// The count of the first fragment.
        expected: u32,
        /// The count of this fragment.
        got: u32,
    },
    /// The same index arrived twice.
    #[error("message {message_id}: fragment {index} received twice")]
    Duplicate {
        /// The fragmented message.
        message_id: u64,
        /// The repeated index.
        index: u32,
    },
    /// A fragment of a multi-fragment message carries no data; [`fragment`](super::fragment())
    /// never produces one, and accepting them would let a peer grow bookkeeping for free.
    #[error("message {message_id}: fragment {index} is empty")]
    EmptyFragment {
        /// The fragmented message.
        message_id: u64,
        /// The empty fragment's index.
        index: u32,
    },
    /// `count` is above [`ReassemblyLimits::max_fragments`].
    #[error("message {message_id}: {count} fragments exceed the limit of {max}")]
    TooManyFragments {
        /// The fragmented message.
        message_id: u64,
        /// The count received.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// Buffering this fragment would exceed [`ReassemblyLimits::max_total_bytes`].
    #[error("message {message_id}: buffered fragments would exceed {max} bytes")]
    TooLarge {
        /// The fragmented message.
        message_id: u64,
        /// The limit.
        max: usize,
    },
    /// A new message would exceed [`ReassemblyLimits::max_partial_messages`].
    #[error("more than {max} fragmented messages in progress")]
    TooManyPartialMessages {
        /// The limit.
        max: usize,
    },
}

impl ReassemblyError {
    /// The code to send before closing the connection.
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            Self::TooManyFragments { .. }
            | Self::TooLarge { .. }
            | Self::TooManyPartialMessages { .. } => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::BadMessage,
        }
    }
}

#[derive(Debug)]
struct Partial {
    count: u32,
    /// Keyed by index. A map, not a `Vec` of `count` slots: `count` comes from the peer and
    /// must not decide how much we allocate.
    pieces: BTreeMap<u32, Vec<u8>>,
    bytes: usize,
    /// When the last fragment of this message arrived.
    touched: Millis,
}

/// Collects `fragment` messages of one connection and returns each frame once all of its
/// fragments have arrived, in any order and interleaved with other fragmented frames.
///
/// It keeps no clock: every fragment comes with `now`, and the owner drops abandoned partial
/// messages with [`expire`](Self::expire) (or all of them with [`clear`](Self::clear), for
/// example on disconnect).
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    partials: BTreeMap<u64, Partial>,
    buffered: usize,
}

impl Reassembler {
    /// A reassembler with the given limits.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            limits,
            partials: BTreeMap::new(),
            buffered: 0,
        }
    }

    /// Accepts a decoded `fragment` message at time `now`; see [`push`](Self::push).
    pub fn accept(
        &mut self,
        now: Millis,
        message: &Message,
    ) -> Result<Option<Vec<u8>>, ReassemblyError> {
        match message {
            Message::Fragment {
                message_id,
                index,
                count,
                data,
            } => self.push(now, *message_id, *index, *count, data),
            _ => Err(ReassemblyError::NotAFragment),
        }
    }

    /// Adds one fragment, received at `now`. Returns the whole frame when this was the last
    /// missing fragment of `message_id`, `None` while fragments are still missing.
    pub fn push(
        &mut self,
        now: Millis,
        message_id: u64,
        index: u32,
        count: u32,
        data: &[u8],
    ) -> Result<Option<Vec<u8>>, ReassemblyError> {
        let result = self.push_inner(now, message_id, index, count, data);
        if result.is_err() {
            self.discard(message_id);
        }
        result
    }

    fn push_inner(
        &mut self,
        now: Millis,
        message_id: u64,
        index: u32,
        count: u32,
        data: &[u8],
    ) -> Result<Option<Vec<u8>>, ReassemblyError> {
        if count == 0 {
            return Err(ReassemblyError::ZeroCount { message_id });
        }
        if index >= count {
            return Err(ReassemblyError::IndexOutOfRange {
                message_id,
                index,
                count,
            });
        }
        if count > self.limits.max_fragments {
            return Err(ReassemblyError::TooManyFragments {
                message_id,
                count,
                max: self.limits.max_fragments,
            });
        }
        if let Some(partial) = self.partials.get(&message_id) {
            if partial.count != count {
                return Err(ReassemblyError::CountMismatch {
                    message_id,
                    expected: partial.count,
                    got: count,
                });
            }
            if partial.pieces.contains_key(&index) {
                return Err(ReassemblyError::Duplicate { message_id, index });
            }
        }
        if self.buffered + data.len() > self.limits.max_total_bytes {
            return Err(ReassemblyError::TooLarge {
                message_id,
                max: self.limits.max_total_bytes,
            });
        }
        if count == 1 {
            // Nothing to wait for; never buffered.
            return Ok(Some(data.to_vec()));
        }
        if data.is_empty() {
            return Err(ReassemblyError::EmptyFragment { message_id, index });
        }
        if !self.partials.contains_key(&message_id)
            && self.partials.len() >= self.limits.max_partial_messages
        {
            return Err(ReassemblyError::TooManyPartialMessages {
                max: self.limits.max_partial_messages,
            });
        }
        let partial = self.partials.entry(message_id).or_insert_with(|| Partial {
            count,
            pieces: BTreeMap::new(),
            bytes: 0,
            touched: now,
        });
        partial.touched = partial.touched.max(now);
        partial.pieces.insert(index, data.to_vec());
        partial.bytes += data.len();
        self.buffered += data.len();
        if partial.pieces.len() < count as usize {
            return Ok(None);
        }
        let Some(done) = self.partials.remove(&message_id) else {
            return Ok(None);
        };
        self.buffered -= done.bytes;
        let mut frame = Vec::with_capacity(done.bytes);
        for piece in done.pieces.into_values() {
            frame.extend_from_slice(&piece);
        }
        Ok(Some(frame))
    }

    /// Drops a partial message, if one is in progress. Returns whether there was one.
    pub fn discard(&mut self, message_id: u64) -> bool {
        match self.partials.remove(&message_id) {
            Some(partial) => {
                self.buffered -= partial.bytes;
                true
            }
            None => false,
        }
    }

    /// Drops every partial message whose last fragment arrived `idle_ms` or more before `now`,
    /// and returns how many it dropped. Their fragments are gone: if the peer sends the rest
    /// later, those start a new partial message that can never complete, and expire in turn.
    pub fn expire(&mut self, now: Millis, idle_ms: u64) -> usize {
        let stale: Vec<u64> = self
            .partials
            .iter()
            .filter(|(_, p)| p.touched.saturating_add(idle_ms) <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &stale {
            self.discard(*id);
        }
        stale.len()
    }

    /// When the partial message idle the longest last received a fragment; `None` when there
    /// is none. It expires at this time plus the idle limit.
    pub fn oldest_activity(&self) -> Option<Millis> {
        self.partials.values().map(|p| p.touched).min()
    }

    /// Drops every partial message.
    pub fn clear(&mut self) {
        self.partials.clear();
        self.buffered = 0;
    }

    /// Number of messages with some but not all fragments received.
    pub fn partial_messages(&self) -> usize {
        self.partials.len()
    }

    /// Bytes currently buffered across all partial messages.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }
}

#[cfg(test)]
mod tests {
    use super::super::fragment::fragment;
    use super::*;

    fn frame(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    fn decode_all(parts: &[Vec<u8>]) -> Vec<Message> {
        parts.iter().map(|p| Message::decode(p).unwrap()).collect()
    }

    #[test]
    fn interleaved_and_reordered_messages_reassemble() {
        let a = frame(5000, 1);
        let b = frame(3333, 2);
        let mut fa = decode_all(&fragment(&a, 1, 500).unwrap());
        let fb = decode_all(&fragment(&b, 2, 500).unwrap());
        fa.reverse();
        let mut r = Reassembler::default();
        let mut done = Vec::new();
        for m in fa
            .iter()
            .zip(&fb)
            .flat_map(|(x, y)| [x, y])
            .chain(fa.iter().skip(fb.len()))
        {
            if let Some(frame) = r.accept(0, m).unwrap() {
                done.push(frame);
            }
        }
        assert_eq!(done, vec![b, a]);
        assert_eq!(r.partial_messages(), 0);
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn single_fragment_returns_at_once() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(0, 9, 0, 1, b"abc"), Ok(Some(b"abc".to_vec())));
        assert_eq!(r.push(0, 9, 0, 1, b""), Ok(Some(Vec::new())));
        assert_eq!(r.partial_messages(), 0);
    }

    #[test]
    fn inconsistent_fragments_are_errors_and_free_memory() {
        let mut r = Reassembler::default();
        assert_eq!(
            r.push(0, 1, 0, 0, b"x"),
            Err(ReassemblyError::ZeroCount { message_id: 1 })
        );
        assert_eq!(
            r.push(0, 1, 3, 3, b"x"),
            Err(ReassemblyError::IndexOutOfRange {
                message_id: 1,
                index: 3,
                count: 3
            })
        );
        assert_eq!(r.push(0, 1, 0, 3, b"x"), Ok(None));
        assert_eq!(
            r.push(0, 1, 1, 4, b"x"),
            Err(ReassemblyError::CountMismatch {
                message_id: 1,
                expected: 3,
                got: 4
            })
        );
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.push(0, 1, 0, 3, b"x"), Ok(None));
        assert_eq!(
            r.push(0, 1, 0, 3, b"x"),
            Err(ReassemblyError::Duplicate {
                message_id: 1,
                index: 0
            })
        );
        assert_eq!(r.partial_messages(), 0);
        assert_eq!(
            r.push(0, 1, 0, 3, b""),
            Err(ReassemblyError::EmptyFragment {
                message_id: 1,
                index: 0
            })
        );
        assert_eq!(
            r.accept(
                0,
                &Message::Leave {
                    sender_id: "p".into()
                }
            ),
            Err(ReassemblyError::NotAFragment)
        );
    }

    #[test]
    fn limits_are_enforced() {
        let mut r = Reassembler::new(ReassemblyLimits {
            max_total_bytes: 10,
            max_partial_messages: 2,
            max_fragments: 5,
        });
        assert_eq!(
            r.push(0, 1, 0, 6, b"x"),
            Err(ReassemblyError::TooManyFragments {
                message_id: 1,
                count: 6,
                max: 5
            })
        );
        assert_eq!(r.push(0, 1, 0, 2, b"aaaa"), Ok(None));
        assert_eq!(r.push(0, 2, 0, 2, b"bbbb"), Ok(None));
        assert_eq!(
            r.push(0, 3, 0, 2, b"c"),
            Err(ReassemblyError::TooManyPartialMessages { max: 2 })
        );
        assert_eq!(
            r.push(0, 2, 1, 2, b"bbb"),
            Err(ReassemblyError::TooLarge {
                message_id: 2,
                max: 10
            })
        );
        // Message 2 was dropped with its bytes; message 1 still completes.
        assert_eq!(r.buffered_bytes(), 4);
        assert_eq!(r.push(0, 1, 1, 2, b"aa"), Ok(Some(b"aaaaaa".to_vec())));
        assert_eq!(r.buffered_bytes(), 0);
        assert!(!r.discard(1));
        assert_eq!(r.push(0, 4, 0, 2, b"d"), Ok(None));
        assert!(r.discard(4));
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn hostile_count_does_not_allocate() {
        let mut r = Reassembler::new(ReassemblyLimits {
            max_fragments: u32::MAX,
            ..ReassemblyLimits::default()
        });
        assert_eq!(r.push(0, 1, u32::MAX - 1, u32::MAX, b"x"), Ok(None));
        assert_eq!(r.buffered_bytes(), 1);
    }

    #[test]
    fn idle_partial_messages_expire_and_free_memory() {
        let mut r = Reassembler::default();
        assert_eq!(r.push(1_000, 1, 0, 3, b"aaa"), Ok(None));
        assert_eq!(r.push(5_000, 2, 0, 2, b"bb"), Ok(None));
        // A later fragment keeps its message alive.
        assert_eq!(r.push(20_000, 1, 1, 3, b"x"), Ok(None));
        assert_eq!(r.oldest_activity(), Some(5_000));
        assert_eq!(r.expire(34_999, 30_000), 0);
        assert_eq!(r.expire(35_000, 30_000), 1);
        assert_eq!(r.partial_messages(), 1);
        assert_eq!(r.buffered_bytes(), 4);
        assert_eq!(r.oldest_activity(), Some(20_000));
        // The rest of an expired message starts over and cannot complete it.
        assert_eq!(r.push(36_000, 2, 1, 2, b"b"), Ok(None));
        assert_eq!(r.expire(100_000, 30_000), 2);
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.oldest_activity(), None);
    }

    #[test]
    fn defaults_bound_a_peer_to_a_few_mib() {
        let limits = ReassemblyLimits::default();
        assert!(limits.max_total_bytes <= 4 * 1024 * 1024);
        assert!(limits.max_partial_messages <= 4);
        let mut r = Reassembler::default();
        for id in 0..4 {
            assert_eq!(r.push(0, id, 0, 2, b"x"), Ok(None));
        }
        assert_eq!(
            r.push(0, 9, 0, 2, b"x"),
            Err(ReassemblyError::TooManyPartialMessages { max: 4 })
        );
        let mut r = Reassembler::default();
        let piece = vec![0u8; 1024 * 1024];
        for index in 0..4 {
            assert_eq!(r.push(0, 1, index, 100, &piece), Ok(None));
        }
        assert_eq!(
            r.push(0, 1, 4, 100, &piece),
            Err(ReassemblyError::TooLarge {
                message_id: 1,
                max: 4 * 1024 * 1024
            })
        );
    }
}
