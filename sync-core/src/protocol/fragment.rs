//! Cutting one frame into `fragment` messages (Tessera extension).
//!
//! Only for frames that [`split_sync_data`](super::split_sync_data) cannot bring under the limit
//! (a single change larger than a frame): stock automerge-repo clients ignore `fragment`, so a
//! fragmented frame only reaches Tessera peers, which put it back together with a
//! [`Reassembler`](super::Reassembler).

use super::encode::bytes_head_len;
use super::message::Message;

/// Why a frame cannot be fragmented. Both are configuration errors of the sender, not of the
/// data: fix the frame limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    /// `max_frame` leaves no room for data after the fragment's own keys.
    #[error("a frame limit of {max_frame} bytes cannot hold a fragment (minimum {min})")]
    FrameLimitTooSmall {
        /// The limit given.
        max_frame: usize,
        /// The smallest limit that works.
        min: usize,
    },
    /// The frame would need more than `u32::MAX` fragments.
    #[error("the frame needs more than u32::MAX fragments")]
    TooManyFragments,
}

/// The most bytes a fragment's data can have so that the encoded message fits `max_frame`.
fn chunk_len(message_id: u64, max_frame: usize) -> Result<usize, FragmentError> {
    // Worst case for the integer fields, so the bound holds for every index.
    let empty = Message::Fragment {
        message_id,
        index: u32::MAX,
        count: u32::MAX,
        data: Vec::new(),
    }
    .encode()
    .len();
    // `empty` already counts a one-byte head for the empty data.
    let keys = empty - 1;
    match max_frame.checked_sub(keys + bytes_head_len(max_frame)) {
        Some(chunk) if chunk > 0 => Ok(chunk),
        _ => {
            // The smallest limit whose own data head still leaves one byte of data.
            let min = [1, 2, 3, 5, 9]
                .into_iter()
                .map(|head| keys + head + 1)
                .find(|&m| keys + bytes_head_len(m) < m)
                .unwrap_or(usize::MAX);
            Err(FragmentError::FrameLimitTooSmall { max_frame, min })
        }
    }
}

/// Cuts `frame` into encoded `fragment` messages of at most `max_frame` bytes each, to be sent
/// in order (a [`Reassembler`](super::Reassembler) also accepts them out of order).
///
/// `message_id` must be unique among the fragmented frames in flight on one connection; a
/// counter per connection is enough. An empty frame gives one empty fragment.
pub fn fragment(
    frame: &[u8],
    message_id: u64,
    max_frame: usize,
) -> Result<Vec<Vec<u8>>, FragmentError> {
    let chunk = chunk_len(message_id, max_frame)?;
    let count = frame.len().div_ceil(chunk).max(1);
    let count = u32::try_from(count).map_err(|_| FragmentError::TooManyFragments)?;
    let mut pieces: Vec<&[u8]> = frame.chunks(chunk).collect();
    if pieces.is_empty() {
        pieces.push(&[]);
    }
    Ok((0..count)
        .zip(pieces)
        .map(|(index, data)| {
            Message::Fragment {
                message_id,
                index,
                count,
                data: data.to_vec(),
            }
            .encode()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fragment_fits_and_carries_the_frame_in_order() {
        let frame: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for max_frame in [80, 100, 257, 1000, 65_600, 20_000] {
            let parts = fragment(&frame, u64::MAX, max_frame).unwrap();
            let mut joined = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                assert!(part.len() <= max_frame, "{} > {max_frame}", part.len());
                let Ok(Message::Fragment {
                    message_id,
                    index,
                    count,
                    data,
                }) = Message::decode(part)
                else {
                    panic!("not a fragment");
                };
                assert_eq!(message_id, u64::MAX);
                assert_eq!(index as usize, i);
                assert_eq!(count as usize, parts.len());
                joined.extend(data);
            }
            assert_eq!(joined, frame);
        }
    }

    #[test]
    fn empty_frame_is_one_empty_fragment() {
        let parts = fragment(&[], 1, 100).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(
            Message::decode(&parts[0]),
            Ok(Message::Fragment {
                message_id: 1,
                index: 0,
                count: 1,
                data: vec![]
            })
        );
    }

    #[test]
    fn tiny_limit_is_an_error() {
        let err = fragment(&[1, 2, 3], 7, 10).unwrap_err();
        let FragmentError::FrameLimitTooSmall { min, .. } = err else {
            panic!("{err:?}");
        };
        assert!(fragment(&[1, 2, 3], 7, min).is_ok());
        assert!(fragment(&[1, 2, 3], 7, min - 1).is_err());
    }
}
