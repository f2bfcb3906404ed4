//! Two properties of fragment reassembly:
//! - hostile fragments (any id, index, count and data, in any order) never make a reassembler
//!   exceed its limits, and never panic;
//! - honest fragments of any frame, delivered in any order, give back exactly that frame.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use sync_core::protocol::{Message, Reassembler, ReassemblyLimits, fragment};

const LIMITS: ReassemblyLimits = ReassemblyLimits {
    max_total_bytes: 4096,
    max_partial_messages: 4,
    max_fragments: 64,
};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = hostile(&mut u);
    let _ = honest(&mut u);
});

fn hostile(u: &mut Unstructured<'_>) -> Result<()> {
    let mut reassembler = Reassembler::new(LIMITS);
    for _ in 0..u.int_in_range(0..=64)? {
        let message_id = u.int_in_range(0..=7)?;
        // Small ranges, so that ids, indexes and counts collide often enough to matter.
        let index = u.int_in_range(0..=70)?;
        let count = u.int_in_range(0..=70)?;
        let len = u.int_in_range(0..=600)?;
        let piece = u.bytes(len)?;
        if let Ok(Some(frame)) = reassembler.push(message_id, index, count, piece) {
            assert!(frame.len() <= LIMITS.max_total_bytes);
        }
        assert!(reassembler.buffered_bytes() <= LIMITS.max_total_bytes);
        assert!(reassembler.partial_messages() <= LIMITS.max_partial_messages);
    }
    Ok(())
}

fn honest(u: &mut Unstructured<'_>) -> Result<()> {
    let message_id = u.arbitrary()?;
    let max_frame = u.int_in_range(40..=700)?;
    let len = u.int_in_range(0..=4096)?;
    let frame = u.bytes(len)?;
    let Ok(mut parts) = fragment(frame, message_id, max_frame) else {
        return Ok(());
    };
    let mut reassembler = Reassembler::default();
    let mut out = None;
    while !parts.is_empty() {
        let part = parts.swap_remove(u.choose_index(parts.len())?);
        assert!(part.len() <= max_frame);
        let message = Message::decode(&part).expect("fragment() output decodes");
        let done = reassembler
            .accept(&message)
            .expect("honest fragments are accepted");
        assert!(out.is_none() || done.is_none());
        out = out.or(done);
    }
    assert_eq!(out.as_deref(), Some(frame));
    Ok(())
}
