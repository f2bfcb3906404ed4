//! The decoder's bounds: every string and list from the wire has a limit, checked before
//! anything is copied, in every encoding a foreign peer may use.

use super::*;

fn join_with_sender(
    sender: impl FnOnce(
        &mut Enc,
    )
        -> std::result::Result<(), minicbor::encode::Error<std::convert::Infallible>>,
) -> Vec<u8> {
    build(|e| {
        e.map(3)?.str("type")?.str("join")?.str("senderId")?;
        sender(e)?;
        e.str("supportedProtocolVersions")?.array(1)?.str("1")?;
        Ok(())
    })
}

#[test]
fn ids_over_the_limit_are_too_long_in_every_encoding() {
    use crate::protocol::limits::MAX_ID_LEN;
    let ok = "p".repeat(MAX_ID_LEN);
    let long = "p".repeat(MAX_ID_LEN + 1);
    let error = DecodeError::TooLong {
        field: "senderId",
        max: MAX_ID_LEN,
    };
    assert_eq!(error.error_code(), ErrorCode::BadMessage);
    let too_long = Err(error);
    assert!(Message::decode(&join_with_sender(|e| e.str(&ok).map(|_| ()))).is_ok());
    assert_eq!(
        Message::decode(&join_with_sender(|e| e.str(&long).map(|_| ()))),
        too_long
    );
    assert_eq!(
        Message::decode(&join_with_sender(|e| e.bytes(long.as_bytes()).map(|_| ()))),
        too_long
    );
    // Chunked, each chunk short.
    assert_eq!(
        Message::decode(&join_with_sender(|e| {
            e.begin_str()?;
            for _ in 0..=MAX_ID_LEN {
                e.str("p")?;
            }
            e.end().map(|_| ())
        })),
        too_long
    );
    // Bytes that are not UTF-8 become hex, twice as long: 129 such bytes are too many.
    let binary = vec![0xff; MAX_ID_LEN / 2 + 1];
    assert_eq!(
        Message::decode(&join_with_sender(|e| e.bytes(&binary).map(|_| ()))),
        too_long
    );
}

#[test]
fn every_string_from_the_wire_has_a_bound() {
    use crate::protocol::limits as l;
    let long = |n: usize| "x".repeat(n + 1);
    let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        (
            "type",
            build(|e| {
                e.map(1)?
                    .str("type")?
                    .str(&long(l::MAX_TYPE_LEN))
                    .map(|_| ())
            }),
            DecodeError::TooLong {
                field: "type",
                max: l::MAX_TYPE_LEN,
            },
        ),
        (
            "unknown key",
            build(|e| {
                e.map(2)?.str("type")?.str("leave")?;
                e.str(&long(l::MAX_KEY_LEN))?.u8(1).map(|_| ())
            }),
            DecodeError::TooLong {
                field: "key",
                max: l::MAX_KEY_LEN,
            },
        ),
        (
            "error message",
            Message::Error {
                message: long(l::MAX_ERROR_MESSAGE_LEN),
                code: None,
                retry_after_ms: None,
            }
            .encode(),
            DecodeError::TooLong {
                field: "message",
                max: l::MAX_ERROR_MESSAGE_LEN,
            },
        ),
        (
            "session id",
            Message::Ephemeral {
                sender_id: "a".into(),
                target_id: "b".into(),
                count: 1,
                session_id: long(l::MAX_SESSION_ID_LEN),
                document_id: doc(),
                data: vec![],
            }
            .encode(),
            DecodeError::TooLong {
                field: "sessionId",
                max: l::MAX_SESSION_ID_LEN,
            },
        ),
        (
            "selected version",
            Message::Peer {
                sender_id: "a".into(),
                selected_protocol_version: long(l::MAX_VERSION_LEN),
                target_id: "b".into(),
                metadata: None,
            }
            .encode(),
            DecodeError::TooLong {
                field: "selectedProtocolVersion",
                max: l::MAX_VERSION_LEN,
            },
        ),
        (
            "supported versions",
            Message::Join {
                sender_id: "a".into(),
                supported_protocol_versions: (0..=l::MAX_VERSIONS).map(|i| i.to_string()).collect(),
                metadata: None,
            }
            .encode(),
            DecodeError::TooMany {
                field: "supportedProtocolVersions",
                max: l::MAX_VERSIONS,
            },
        ),
        (
            "single supported version",
            build(|e| {
                e.map(3)?
                    .str("type")?
                    .str("join")?
                    .str("senderId")?
                    .str("a")?;
                e.str("supportedProtocolVersions")?
                    .str(&long(l::MAX_VERSION_LEN))
                    .map(|_| ())
            }),
            DecodeError::TooLong {
                field: "supportedProtocolVersions",
                max: l::MAX_VERSION_LEN,
            },
        ),
        (
            "storage id in metadata",
            Message::Join {
                sender_id: "a".into(),
                supported_protocol_versions: vec!["1".into()],
                metadata: Some(PeerMetadata {
                    storage_id: Some(long(l::MAX_ID_LEN).as_str().into()),
                    is_ephemeral: false,
                    reads_acks: false,
                }),
            }
            .encode(),
            DecodeError::TooLong {
                field: "storageId",
                max: l::MAX_ID_LEN,
            },
        ),
        (
            "subscription storage ids",
            Message::RemoteSubscriptionChange {
                sender_id: "a".into(),
                target_id: "b".into(),
                add: (0..=l::MAX_STORAGE_IDS)
                    .map(|i| i.to_string().as_str().into())
                    .collect(),
                remove: vec![],
            }
            .encode(),
            DecodeError::TooMany {
                field: "add",
                max: l::MAX_STORAGE_IDS,
            },
        ),
        (
            "ack heads",
            Message::Ack {
                sender_id: "a".into(),
                target_id: "b".into(),
                document_id: doc(),
                heads: (0..=l::MAX_HEADS).map(|i| i.to_string()).collect(),
            }
            .encode(),
            DecodeError::TooMany {
                field: "heads",
                max: l::MAX_HEADS,
            },
        ),
        (
            "one head",
            Message::Ack {
                sender_id: "a".into(),
                target_id: "b".into(),
                document_id: doc(),
                heads: vec![long(l::MAX_HEAD_LEN)],
            }
            .encode(),
            DecodeError::TooLong {
                field: "heads",
                max: l::MAX_HEAD_LEN,
            },
        ),
        (
            "new heads storages",
            Message::RemoteHeadsChanged {
                sender_id: "a".into(),
                target_id: "b".into(),
                document_id: doc(),
                new_heads: (0..=l::MAX_HEADS_STORAGES)
                    .map(|i| {
                        (
                            i.to_string().as_str().into(),
                            HeadsInfo {
                                heads: vec![],
                                timestamp: 1,
                            },
                        )
                    })
                    .collect(),
            }
            .encode(),
            DecodeError::TooMany {
                field: "newHeads",
                max: l::MAX_HEADS_STORAGES,
            },
        ),
        (
            "document id text",
            build(|e| {
                e.map(5)?
                    .str("type")?
                    .str("sync")?
                    .str("senderId")?
                    .str("a")?;
                e.str("targetId")?.str("b")?.str("data")?.bytes(&[])?;
                e.str("documentId")?
                    .str(&long(l::MAX_DOCUMENT_ID_TEXT_LEN))
                    .map(|_| ())
            }),
            DecodeError::TooLong {
                field: "documentId",
                max: l::MAX_DOCUMENT_ID_TEXT_LEN,
            },
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(Message::decode(&bytes), Err(want), "{name}");
    }
}

#[test]
fn indefinite_lists_are_counted_as_they_are_read() {
    use crate::protocol::limits::MAX_VERSIONS;
    let bytes = build(|e| {
        e.map(3)?
            .str("type")?
            .str("join")?
            .str("senderId")?
            .str("a")?;
        e.str("supportedProtocolVersions")?.begin_array()?;
        for _ in 0..=MAX_VERSIONS {
            e.str("1")?;
        }
        e.end().map(|_| ())
    });
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::TooMany {
            field: "supportedProtocolVersions",
            max: MAX_VERSIONS
        })
    );
    // A definite length that lies runs out of input before anything is allocated.
    let lying = build(|e| {
        e.map(3)?
            .str("type")?
            .str("join")?
            .str("senderId")?
            .str("a")?;
        e.str("supportedProtocolVersions")?
            .array(u64::MAX)
            .map(|_| ())
    });
    let err = Message::decode(&lying).unwrap_err();
    assert_eq!(err.error_code(), ErrorCode::BadMessage, "{err:?}");
}
