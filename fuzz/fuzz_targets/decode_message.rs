//! Any bytes may arrive as a frame. Decoding must not panic or allocate beyond the input, and a
//! decoded message must survive encode -> decode unchanged and re-encode to the same bytes.
//!
//! Seed it with the golden fixtures:
//! `cargo +nightly fuzz run decode_message fuzz/corpus/decode_message sync-core/tests/fixtures/wire`

#![no_main]

use libfuzzer_sys::fuzz_target;
use sync_core::protocol::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        let encoded = message.encode();
        let again = Message::decode(&encoded);
        assert_eq!(again.as_ref(), Ok(&message));
        assert_eq!(again.map(|m| m.encode()), Ok(encoded));
    }
});
