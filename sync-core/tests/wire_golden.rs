//! Golden bytes: the committed fixtures in `tests/fixtures/wire/` are the wire contract.
//!
//! `TESSERA_BLESS=1` rewrites the fixtures from the current encoder; review the diff before
//! committing, since stock automerge-repo peers read these bytes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use automerge::sync;
use sync_core::protocol::{DocumentId, ErrorCode, HeadsInfo, Message, PeerMetadata};

/// automerge's first sync message for an empty document, as the JS client sends it.
const EMPTY_DOC_SYNC: [u8; 10] = [0x42, 0, 0, 1, 0, 0, 0, 2, 2, 0x84];
const CLIENT: &str = "peer-5fuz8yqd7x";
const RELAY: &str = "tessera-relay";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wire")
}

fn read(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn doc() -> DocumentId {
    "4NMNnkMhL8jXrdJ9jamS58PAVdXu".parse().unwrap()
}

/// Fails to compile when a variant is added, as a reminder to add its sample and fixture.
fn fixture_name(message: &Message) -> &str {
    match message {
        Message::Join { .. }
        | Message::Peer { .. }
        | Message::Leave { .. }
        | Message::Request { .. }
        | Message::Sync { .. }
        | Message::DocUnavailable { .. }
        | Message::Ephemeral { .. }
        | Message::RemoteSubscriptionChange { .. }
        | Message::RemoteHeadsChanged { .. }
        | Message::Error { .. }
        | Message::Ack { .. }
        | Message::Fragment { .. }
        | Message::Keepalive => message.type_name(),
        Message::Unknown { .. } => "unknown",
    }
}

fn samples() -> Vec<Message> {
    let heads = |n: u8| HeadsInfo {
        heads: vec![format!("{n:02x}").repeat(32)],
        timestamp: 1_700_000_000_000 + u64::from(n),
    };
    vec![
        Message::Join {
            sender_id: CLIENT.into(),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata {
                storage_id: Some("3760df37-a4c6-4f66-9ecd-732039a9385d".into()),
                is_ephemeral: false,
                reads_acks: true,
            }),
        },
        Message::Peer {
            sender_id: RELAY.into(),
            selected_protocol_version: "1".into(),
            target_id: CLIENT.into(),
            metadata: Some(PeerMetadata {
                storage_id: Some("tessera-relay-storage".into()),
                is_ephemeral: false,
                reads_acks: false,
            }),
        },
        Message::Leave {
            sender_id: CLIENT.into(),
        },
        Message::Request {
            document_id: doc(),
            sender_id: CLIENT.into(),
            target_id: RELAY.into(),
            data: EMPTY_DOC_SYNC.to_vec(),
        },
        Message::Sync {
            document_id: doc(),
            sender_id: RELAY.into(),
            target_id: CLIENT.into(),
            data: EMPTY_DOC_SYNC.to_vec(),
        },
        Message::DocUnavailable {
            sender_id: RELAY.into(),
            target_id: CLIENT.into(),
            document_id: doc(),
        },
        Message::Ephemeral {
            sender_id: CLIENT.into(),
            target_id: RELAY.into(),
            count: 42,
            session_id: "d1b8a0c2".into(),
            document_id: doc(),
            data: vec![0xa1, 0x61, b'x', 0x01],
        },
        Message::RemoteSubscriptionChange {
            sender_id: CLIENT.into(),
            target_id: RELAY.into(),
            add: vec!["storage-a".into()],
            remove: vec!["storage-b".into()],
        },
        Message::RemoteHeadsChanged {
            sender_id: RELAY.into(),
            target_id: CLIENT.into(),
            document_id: doc(),
            new_heads: BTreeMap::from([
                ("storage-b".into(), heads(2)),
                ("storage-a".into(), heads(1)),
            ]),
        },
        Message::Error {
            message: "too many messages".into(),
            code: Some(ErrorCode::RateLimited),
            retry_after_ms: Some(1500),
        },
        Message::Ack {
            sender_id: RELAY.into(),
            target_id: CLIENT.into(),
            document_id: doc(),
            heads: vec!["ab".repeat(32)],
        },
        Message::Fragment {
            message_id: 7,
            index: 1,
            count: 3,
            data: vec![0xde, 0xad, 0xbe, 0xef],
        },
        Message::Keepalive,
        Message::Unknown {
            type_name: "x-tessera-future".into(),
        },
    ]
}

#[test]
fn every_message_matches_its_fixture() {
    let bless = std::env::var("TESSERA_BLESS").is_ok_and(|v| v == "1");
    let samples = samples();
    for sample in &samples {
        let name = format!("{}.cbor", fixture_name(sample));
        let encoded = sample.encode();
        if bless {
            std::fs::write(dir().join(&name), &encoded).unwrap();
        }
        let fixture = read(&name);
        assert_eq!(
            encoded, fixture,
            "{name}: the encoding changed; if that is intended, rerun with TESSERA_BLESS=1"
        );
        assert_eq!(Message::decode(&fixture).as_ref(), Ok(sample), "{name}");
    }
    let mut names: Vec<_> = samples.iter().map(fixture_name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), samples.len(), "one sample per variant");
}

#[test]
fn fixture_directory_holds_only_known_files() {
    let mut expected: Vec<String> = samples()
        .iter()
        .map(|m| format!("{}.cbor", fixture_name(m)))
        .chain([
            "js-join.cbor".into(),
            "js-sync.cbor".into(),
            "README.md".into(),
        ])
        .collect();
    expected.sort();
    let mut found: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, expected);
}

#[test]
fn sync_payload_is_a_real_automerge_message() {
    assert!(sync::Message::decode(&EMPTY_DOC_SYNC).is_ok());
}

#[test]
fn js_client_join_decodes() {
    assert_eq!(
        Message::decode(&read("js-join.cbor")),
        Ok(Message::Join {
            sender_id: CLIENT.into(),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata {
                storage_id: Some("3760df37-a4c6-4f66-9ecd-732039a9385d".into()),
                is_ephemeral: false,
                reads_acks: false,
            }),
        })
    );
}

#[test]
fn js_client_sync_decodes() {
    let sync = Message::decode(&read("js-sync.cbor")).unwrap();
    assert_eq!(
        sync,
        Message::Sync {
            document_id: doc(),
            sender_id: CLIENT.into(),
            target_id: RELAY.into(),
            data: EMPTY_DOC_SYNC.to_vec(),
        }
    );
    // Same content as the golden sync fixture, in the JS client's key order.
    assert_ne!(sync.encode(), read("js-sync.cbor"));
}
