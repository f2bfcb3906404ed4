//! Turning one protocol message into frames that fit the transport, and back.
//!
//! Shared by the client and relay machines: a `sync` message whose automerge payload is too big
//! is first split into several complete sync messages (which stock peers accept); only a piece
//! that still does not fit is cut into `fragment`s, which only Tessera peers reassemble.

use crate::protocol::{Message, fragment, max_sync_data_len, split_sync_data};

/// Encodes `message` into frames of at most `max_frame` bytes. `next_fragment_id` numbers
/// fragmented frames on this connection.
pub(crate) fn frames_for(
    message: Message,
    max_frame: usize,
    next_fragment_id: &mut u64,
) -> Vec<Vec<u8>> {
    let whole = message.encode();
    if whole.len() <= max_frame {
        return vec![whole];
    }
    let parts = match (&message, max_sync_data_len(&message, max_frame)) {
        (Message::Sync { data, .. } | Message::Request { data, .. }, Some(max_data)) => {
            split_sync_data(data, max_data).unwrap_or_else(|_| vec![data.clone()])
        }
        _ => return fragment_frame(&whole, max_frame, next_fragment_id),
    };
    let mut frames = Vec::new();
    for data in parts {
        let frame = message
            .with_sync_data(data)
            .expect("only sync and request messages are split")
            .encode();
        if frame.len() <= max_frame {
            frames.push(frame);
        } else {
            frames.extend(fragment_frame(&frame, max_frame, next_fragment_id));
        }
    }
    frames
}

fn fragment_frame(frame: &[u8], max_frame: usize, next_fragment_id: &mut u64) -> Vec<Vec<u8>> {
    let id = *next_fragment_id;
    *next_fragment_id += 1;
    fragment(frame, id, max_frame).expect("frame limits are far above the fragment overhead")
}
