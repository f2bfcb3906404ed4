//! A stable-toolchain stand-in for the `decode_message` fuzz target: thousands of seeded
//! pseudo-random and mutated frames. The decoder must never panic, and whatever it accepts must
//! survive encode -> decode unchanged (and re-encode to the same bytes).

use std::path::PathBuf;

use minicbor::Encoder;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sync_core::protocol::Message;

const KEYS: &[&str] = &[
    "type",
    "senderId",
    "targetId",
    "documentId",
    "data",
    "supportedProtocolVersions",
    "selectedProtocolVersion",
    "peerMetadata",
    "metadata",
    "storageId",
    "isEphemeral",
    "count",
    "sessionId",
    "add",
    "remove",
    "newHeads",
    "heads",
    "timestamp",
    "message",
    "code",
    "retryAfterMs",
    "messageId",
    "index",
];

const TYPES: &[&str] = &[
    "join",
    "peer",
    "leave",
    "request",
    "sync",
    "doc-unavailable",
    "ephemeral",
    "remote-subscription-change",
    "remote-heads-changed",
    "error",
    "ack",
    "fragment",
    "something-else",
];

/// Bytes that start interesting CBOR items: lengths at each width, indefinite markers, floats,
/// simple values, tags and breaks.
const INTERESTING: &[u8] = &[
    0x00, 0x17, 0x18, 0x1b, 0x1f, 0x20, 0x3b, 0x40, 0x5b, 0x5f, 0x60, 0x7b, 0x7f, 0x80, 0x9b, 0x9f,
    0xa0, 0xbb, 0xbf, 0xc0, 0xd8, 0xdb, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xff,
];

fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cbor"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "fixtures missing");
    seeds
}

/// Checks the properties; returns whether the frame decoded.
fn check(frame: &[u8]) -> bool {
    let Ok(message) = Message::decode(frame) else {
        return false;
    };
    let encoded = message.encode();
    assert_eq!(
        Message::decode(&encoded).as_ref(),
        Ok(&message),
        "round trip failed for input {}",
        hex::encode(frame)
    );
    assert_eq!(
        Message::decode(&encoded).map(|m| m.encode()).as_ref(),
        Ok(&encoded)
    );
    true
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..rng.random_range(1..4) {
        let len = input.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] = INTERESTING[rng.random_range(0..INTERESTING.len())];
            }
            2 => {
                let i = rng.random_range(0..=len);
                input.insert(i, INTERESTING[rng.random_range(0..INTERESTING.len())]);
            }
            3 if len > 0 => {
                input.remove(rng.random_range(0..len));
            }
            4 => input.truncate(rng.random_range(0..=len)),
            5 => {
                // Splice part of another fixture in.
                let other = &seeds[rng.random_range(0..seeds.len())];
                let from = rng.random_range(0..other.len());
                let to = rng.random_range(from..=other.len());
                let at = rng.random_range(0..=len);
                input.splice(at..at, other[from..to].iter().copied());
            }
            _ if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] = rng.random();
            }
            _ => input.push(rng.random()),
        }
    }
}

type EncResult = Result<(), minicbor::encode::Error<std::convert::Infallible>>;

/// A random value of a random CBOR type, mostly the shapes the decoder looks for.
fn value(rng: &mut StdRng, e: &mut Encoder<Vec<u8>>, depth: u32) -> EncResult {
    let id = "4NMNnkMhL8jXrdJ9jamS58PAVdXu";
    match rng.random_range(0..16) {
        0 => e.str(TYPES[rng.random_range(0..TYPES.len())]).map(drop),
        1 => e.str(id).map(drop),
        2 => e.bytes(&rng.random::<[u8; 16]>()).map(drop),
        3 => {
            let bits = rng.random_range(1..64);
            e.u64(rng.random_range(0..1u64 << bits)).map(drop)
        }
        4 => e
            .f64(f64::from(rng.random_range(-3..100_000)) / f64::from(rng.random_range(1..3)))
            .map(drop),
        5 => e.bool(rng.random()).map(drop),
        6 => e.null().map(drop),
        7 => e.undefined().map(drop),
        8 => e.str("rate_limited").map(drop),
        9 => e.i64(-rng.random_range(1..1000)).map(drop),
        10 => e.bytes(&vec![7; rng.random_range(0..40)]).map(drop),
        11 => e.f32(rng.random_range(0..300) as f32).map(drop),
        12 if depth < 3 => {
            let n = rng.random_range(0..4);
            e.array(n)?;
            (0..n).try_for_each(|_| value(rng, e, depth + 1))
        }
        13 if depth < 3 => map(rng, e, depth + 1),
        _ => e.str("peer-x").map(drop),
    }
}

fn map(rng: &mut StdRng, e: &mut Encoder<Vec<u8>>, depth: u32) -> EncResult {
    let n = rng.random_range(0..8);
    let indefinite = rng.random_range(0..4) == 0;
    if indefinite {
        e.begin_map()?;
    } else {
        e.map(n)?;
    }
    for _ in 0..n {
        e.str(KEYS[rng.random_range(0..KEYS.len())])?;
        value(rng, e, depth)?;
    }
    if indefinite {
        e.end()?;
    }
    Ok(())
}

/// A map with a real `type` and the keys that type reads, with random values.
fn structured(rng: &mut StdRng) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    let n = rng.random_range(1..10);
    let result: EncResult = (|| {
        e.map(n)?;
        e.str("type")?
            .str(TYPES[rng.random_range(0..TYPES.len())])?;
        for _ in 1..n {
            e.str(KEYS[rng.random_range(1..KEYS.len())])?;
            value(rng, &mut e, 0)?;
        }
        Ok(())
    })();
    result.unwrap();
    e.into_writer()
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x7e55_e7a0);
    for _ in 0..4_000 {
        let len = rng.random_range(0..80);
        let mut frame: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if rng.random() {
            // Start like a map, so the decoder gets past the first byte.
            frame.insert(0, 0xa0 | rng.random_range(0..6u8));
        }
        check(&frame);
    }
}

#[test]
fn mutated_fixtures_never_panic_and_round_trip() {
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(0xf1c5_7e55);
    let mut decoded = 0;
    for i in 0..6_000 {
        let mut frame = seeds[i % seeds.len()].clone();
        mutate(&mut rng, &seeds, &mut frame);
        decoded += usize::from(check(&frame));
    }
    // Keep the test honest: many mutants must still decode, or the round trip goes untested.
    assert!(decoded > 300, "only {decoded} mutants decoded");
}

#[test]
fn structured_maps_never_panic_and_round_trip() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut decoded = 0;
    for _ in 0..6_000 {
        let frame = structured(&mut rng);
        decoded += usize::from(check(&frame));
        let mut nested = Encoder::new(Vec::new());
        map(&mut rng, &mut nested, 0).unwrap();
        check(&nested.into_writer());
    }
    assert!(decoded > 100, "only {decoded} structured maps decoded");
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // 100k nested arrays under an ignored key: skipping must not recurse.
    let mut frame = vec![0xa2, 0x64, b't', b'y', b'p', b'e', 0x61, b'x', 0x61, b'z'];
    frame.extend(std::iter::repeat_n(0x81, 100_000));
    frame.push(0x00);
    assert!(check(&frame));
    let mut indefinite = vec![0xa2, 0x64, b't', b'y', b'p', b'e', 0x61, b'x', 0x61, b'z'];
    indefinite.extend(std::iter::repeat_n(0x9f, 100_000));
    indefinite.extend(std::iter::repeat_n(0xff, 100_000));
    assert!(check(&indefinite));
}
