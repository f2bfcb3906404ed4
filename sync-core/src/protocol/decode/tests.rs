//! One test per decoding tolerance, each on CBOR built by hand with minicbor's encoder (so the
//! shapes are exactly those foreign encoders produce, not what our encoder writes).

use minicbor::Encoder;

use super::*;

type Enc = Encoder<Vec<u8>>;

fn build(
    f: impl FnOnce(
        &mut Enc,
    ) -> std::result::Result<(), minicbor::encode::Error<std::convert::Infallible>>,
) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    f(&mut e).unwrap();
    e.into_writer()
}

fn doc() -> DocumentId {
    DocumentId::from_bytes([0x11; 16])
}

fn sync_msg() -> Message {
    Message::Sync {
        document_id: doc(),
        sender_id: "alice".into(),
        target_id: "bob".into(),
        data: vec![1, 2, 3],
    }
}

#[test]
fn metadata_under_either_key() {
    for key in ["peerMetadata", "metadata"] {
        let bytes = build(|e| {
            e.map(4)?
                .str("type")?
                .str("join")?
                .str("senderId")?
                .str("a")?;
            e.str("supportedProtocolVersions")?.array(1)?.str("1")?;
            e.str(key)?
                .map(2)?
                .str("storageId")?
                .str("s1")?
                .str("isEphemeral")?
                .bool(true)?;
            Ok(())
        });
        assert_eq!(
            Message::decode(&bytes),
            Ok(Message::Join {
                sender_id: "a".into(),
                supported_protocol_versions: vec!["1".into()],
                metadata: Some(PeerMetadata {
                    storage_id: Some("s1".into()),
                    is_ephemeral: true,
                    reads_acks: false,
                }),
            }),
            "{key}"
        );
    }
}

#[test]
fn document_id_as_text_url_or_raw_bytes() {
    let text = build(|e| {
        e.map(5)?
            .str("type")?
            .str("sync")?
            .str("documentId")?
            .str(&doc().to_string())?;
        e.str("senderId")?
            .str("alice")?
            .str("targetId")?
            .str("bob")?
            .str("data")?
            .bytes(&[1, 2, 3])?;
        Ok(())
    });
    let url = build(|e| {
        e.map(5)?
            .str("type")?
            .str("sync")?
            .str("documentId")?
            .str(&doc().to_url())?;
        e.str("senderId")?
            .str("alice")?
            .str("targetId")?
            .str("bob")?
            .str("data")?
            .bytes(&[1, 2, 3])?;
        Ok(())
    });
    let raw = build(|e| {
        e.map(5)?
            .str("type")?
            .str("sync")?
            .str("documentId")?
            .bytes(&[0x11; 16])?;
        e.str("senderId")?
            .str("alice")?
            .str("targetId")?
            .str("bob")?
            .str("data")?
            .bytes(&[1, 2, 3])?;
        Ok(())
    });
    for bytes in [text, url, raw] {
        assert_eq!(Message::decode(&bytes), Ok(sync_msg()));
    }
    let short = build(|e| {
        e.map(5)?
            .str("type")?
            .str("sync")?
            .str("documentId")?
            .bytes(&[0x11; 15])?;
        e.str("senderId")?
            .str("alice")?
            .str("targetId")?
            .str("bob")?
            .str("data")?
            .bytes(&[1])?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&short),
        Err(DecodeError::BadDocumentId(BadDocumentId::WrongLength(15)))
    );
}

#[test]
fn peer_and_storage_ids_as_bytes() {
    let bytes = build(|e| {
        e.map(5)?.str("type")?.str("remote-subscription-change")?;
        e.str("senderId")?.bytes(b"alice")?;
        e.str("targetId")?.bytes(&[0xff, 0x00, 0xab])?;
        e.str("add")?.array(2)?.bytes(b"s1")?.str("s2")?;
        e.str("remove")?.array(1)?.bytes(&[0xc3])?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&bytes),
        Ok(Message::RemoteSubscriptionChange {
            sender_id: "alice".into(),
            target_id: "ff00ab".into(),
            add: vec!["s1".into(), "s2".into()],
            remove: vec!["c3".into()],
        })
    );
}

#[test]
fn null_and_undefined_for_optional_fields() {
    let join = build(|e| {
        e.map(4)?
            .str("type")?
            .str("join")?
            .str("senderId")?
            .str("a")?;
        e.str("supportedProtocolVersions")?.array(1)?.str("1")?;
        e.str("peerMetadata")?
            .map(2)?
            .str("storageId")?
            .undefined()?;
        e.str("isEphemeral")?.null()?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&join),
        Ok(Message::Join {
            sender_id: "a".into(),
            supported_protocol_versions: vec!["1".into()],
            metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
                reads_acks: false,
            }),
        })
    );
    let peer = build(|e| {
        e.map(5)?
            .str("type")?
            .str("peer")?
            .str("senderId")?
            .str("a")?;
        e.str("selectedProtocolVersion")?
            .str("1")?
            .str("targetId")?
            .str("b")?;
        e.str("peerMetadata")?.undefined()?;
        Ok(())
    });
    assert!(matches!(
        Message::decode(&peer),
        Ok(Message::Peer { metadata: None, .. })
    ));
    let sub = build(|e| {
        e.map(5)?
            .str("type")?
            .str("remote-subscription-change")?
            .str("senderId")?
            .str("a")?;
        e.str("targetId")?
            .str("b")?
            .str("add")?
            .array(1)?
            .str("s")?
            .str("remove")?
            .undefined()?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&sub),
        Ok(Message::RemoteSubscriptionChange {
            sender_id: "a".into(),
            target_id: "b".into(),
            add: vec!["s".into()],
            remove: vec![],
        })
    );
    let error = build(|e| {
        e.map(4)?
            .str("type")?
            .str("error")?
            .str("message")?
            .str("m")?;
        e.str("code")?.null()?.str("retryAfterMs")?.undefined()?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&error),
        Ok(Message::Error {
            message: "m".into(),
            code: None,
            retry_after_ms: None
        })
    );
    // A required field that is null is missing.
    let leave = build(|e| {
        e.map(2)?
            .str("type")?
            .str("leave")?
            .str("senderId")?
            .null()?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&leave),
        Err(DecodeError::MissingField("senderId"))
    );
}

#[test]
fn unknown_keys_tags_and_error_codes_are_ignored() {
    let bytes = build(|e| {
        e.map(8)?
            .str("type")?
            .str("sync")?
            .str("extra")?
            .array(2)?
            .map(0)?
            .null()?;
        e.u8(7)?.str("non-text key")?;
        e.str("documentId")?.str(&doc().to_string())?;
        e.str("senderId")?
            .str("alice")?
            .str("targetId")?
            .str("bob")?;
        e.str("data")?
            .tag(minicbor::data::Tag::new(64))?
            .bytes(&[1, 2, 3])?;
        e.str("code")?.u8(5)?; // not a sync key: ignored, whatever its type
        Ok(())
    });
    assert_eq!(Message::decode(&bytes), Ok(sync_msg()));
    let error = build(|e| {
        e.map(3)?
            .str("type")?
            .str("error")?
            .str("message")?
            .str("m")?
            .str("code")?
            .str("from_the_future")?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&error),
        Ok(Message::Error {
            message: "m".into(),
            code: None,
            retry_after_ms: None
        })
    );
}

#[test]
fn indefinite_lengths_everywhere() {
    let bytes = build(|e| {
        e.begin_map()?.str("type")?.str("join")?;
        e.begin_str()?.str("sender")?.str("Id")?.end()?;
        e.begin_str()?.str("al")?.str("ice")?.end()?;
        e.str("supportedProtocolVersions")?
            .begin_array()?
            .str("1")?
            .str("2")?
            .end()?;
        e.str("peerMetadata")?.begin_map()?.str("storageId")?;
        e.begin_bytes()?.bytes(b"st")?.bytes(b"ore")?.end()?;
        e.str("isEphemeral")?.bool(false)?.end()?;
        e.end()?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&bytes),
        Ok(Message::Join {
            sender_id: "alice".into(),
            supported_protocol_versions: vec!["1".into(), "2".into()],
            metadata: Some(PeerMetadata {
                storage_id: Some("store".into()),
                is_ephemeral: false,
                reads_acks: false,
            }),
        })
    );
    let data = build(|e| {
        e.begin_map()?
            .str("type")?
            .str("sync")?
            .str("documentId")?
            .str(&doc().to_string())?;
        e.str("senderId")?
            .str("alice")?
            .str("targetId")?
            .str("bob")?;
        e.str("data")?
            .begin_bytes()?
            .bytes(&[1])?
            .bytes(&[])?
            .bytes(&[2, 3])?
            .end()?;
        e.end()?;
        Ok(())
    });
    assert_eq!(Message::decode(&data), Ok(sync_msg()));
}

#[test]
fn protocol_versions_as_single_string() {
    let bytes = build(|e| {
        e.map(3)?
            .str("type")?
            .str("join")?
            .str("senderId")?
            .str("a")?;
        e.str("supportedProtocolVersions")?.str("1")?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&bytes),
        Ok(Message::Join {
            sender_id: "a".into(),
            supported_protocol_versions: vec!["1".into()],
            metadata: None,
        })
    );
}

#[test]
fn unknown_type_and_type_anywhere() {
    let bytes = build(|e| {
        e.map(2)?
            .str("whatever")?
            .array(1)?
            .u8(1)?
            .str("type")?
            .str("x-new-thing")?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&bytes),
        Ok(Message::Unknown {
            type_name: "x-new-thing".into()
        })
    );
    let leave = build(|e| {
        e.map(2)?
            .str("senderId")?
            .str("a")?
            .str("type")?
            .str("leave")?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&leave),
        Ok(Message::Leave {
            sender_id: "a".into()
        })
    );
}

/// A keepalive from a newer peer may carry keys (a `senderId`, anything): still a keepalive.
#[test]
fn a_keepalive_with_extra_keys_is_a_keepalive() {
    let bytes = build(|e| {
        e.map(3)?
            .str("senderId")?
            .str("a")?
            .str("type")?
            .str("keepalive")?
            .str("at")?
            .u64(7)?;
        Ok(())
    });
    assert_eq!(Message::decode(&bytes), Ok(Message::Keepalive));
    assert_eq!(
        Message::Keepalive.encode().len(),
        16,
        "a tiny frame every 20 s"
    );
}

#[test]
fn structural_errors() {
    assert!(matches!(Message::decode(&[]), Err(DecodeError::Cbor(_))));
    assert_eq!(
        Message::decode(&build(|e| e.array(0).map(drop))),
        Err(DecodeError::NotAMap)
    );
    assert_eq!(
        Message::decode(&build(|e| e.map(0).map(drop))),
        Err(DecodeError::MissingField("type"))
    );
    let type_int = build(|e| e.map(1)?.str("type")?.u8(1).map(drop));
    assert_eq!(
        Message::decode(&type_int),
        Err(DecodeError::WrongType { field: "type" })
    );
    let mut trailing = Message::Leave {
        sender_id: "a".into(),
    }
    .encode();
    trailing.push(0);
    assert_eq!(
        Message::decode(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
    // A map claiming 2^64-1 entries just runs out of input.
    let lying = [
        0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x64, b't', b'y', b'p', b'e',
    ];
    assert!(matches!(Message::decode(&lying), Err(DecodeError::Cbor(_))));
    // A byte string claiming 4 GiB allocates nothing.
    let mut huge = Message::Leave {
        sender_id: "a".into(),
    }
    .encode();
    huge[0] = 0xa3;
    huge.extend([0x64, b'd', b'a', b't', b'a', 0x5a, 0xff, 0xff, 0xff, 0xff]);
    assert!(matches!(Message::decode(&huge), Err(DecodeError::Cbor(_))));
    // A stray break where a value should be.
    let stray = [0xa1, 0x64, b't', b'y', b'p', b'e', 0xff];
    assert!(Message::decode(&stray).is_err());
}

#[test]
fn size_limit_is_checked_first() {
    let bytes = sync_msg().encode();
    assert_eq!(
        Message::decode_with_limit(&bytes, 10),
        Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: 10
        })
    );
    assert_eq!(
        DecodeError::TooLarge { len: 1, max: 0 }.error_code(),
        ErrorCode::PayloadTooLarge
    );
    assert_eq!(DecodeError::NotAMap.error_code(), ErrorCode::BadMessage);
}

mod limits;
mod numbers;
