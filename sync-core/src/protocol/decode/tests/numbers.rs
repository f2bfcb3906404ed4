//! Numbers as foreign encoders write them: integers as floats, float timestamps, and the range
//! checks on fragment integers.

use super::*;

fn ephemeral_with_count(
    count: impl FnOnce(
        &mut Enc,
    )
        -> std::result::Result<(), minicbor::encode::Error<std::convert::Infallible>>,
) -> Vec<u8> {
    build(|e| {
        e.map(7)?
            .str("type")?
            .str("ephemeral")?
            .str("senderId")?
            .str("a")?;
        e.str("targetId")?.str("b")?.str("count")?;
        count(e)?;
        e.str("sessionId")?
            .str("s")?
            .str("documentId")?
            .str(&doc().to_string())?;
        e.str("data")?.bytes(&[9])?;
        Ok(())
    })
}

#[test]
fn integers_encoded_as_floats() {
    let as_f64 = ephemeral_with_count(|e| e.f64(1_700_000_000_123.0).map(drop));
    let as_f32 = ephemeral_with_count(|e| e.f32(7.0).map(drop));
    let as_f16 = ephemeral_with_count(|e| e.f16(3.0).map(drop));
    let as_neg_zero = ephemeral_with_count(|e| e.f64(-0.0).map(drop));
    let counts: Vec<_> = [as_f64, as_f32, as_f16, as_neg_zero]
        .iter()
        .map(|b| match Message::decode(b) {
            Ok(Message::Ephemeral { count, .. }) => count,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(counts, [1_700_000_000_123, 7, 3, 0]);

    for bad in [f64::NAN, f64::INFINITY, -1.0, 1.5, 1e300] {
        let bytes = ephemeral_with_count(|e| e.f64(bad).map(drop));
        assert_eq!(
            Message::decode(&bytes),
            Err(DecodeError::OutOfRange { field: "count" }),
            "{bad}"
        );
    }
    let negative = ephemeral_with_count(|e| e.i64(-5).map(drop));
    assert_eq!(
        Message::decode(&negative),
        Err(DecodeError::OutOfRange { field: "count" })
    );
    let text = ephemeral_with_count(|e| e.str("5").map(drop));
    assert_eq!(
        Message::decode(&text),
        Err(DecodeError::WrongType { field: "count" })
    );
}

#[test]
fn float_timestamp_and_retry_after() {
    let heads = build(|e| {
        e.map(5)?
            .str("type")?
            .str("remote-heads-changed")?
            .str("senderId")?
            .str("a")?;
        e.str("targetId")?
            .str("b")?
            .str("documentId")?
            .str(&doc().to_string())?;
        e.str("newHeads")?.map(1)?.str("s1")?.map(2)?;
        e.str("heads")?
            .array(1)?
            .str("h")?
            .str("timestamp")?
            .f64(1_700_000_000_000.0)?;
        Ok(())
    });
    let Ok(Message::RemoteHeadsChanged { new_heads, .. }) = Message::decode(&heads) else {
        panic!("did not decode");
    };
    assert_eq!(
        new_heads[&StorageId::from("s1")].timestamp,
        1_700_000_000_000
    );

    let error = build(|e| {
        e.map(4)?
            .str("type")?
            .str("error")?
            .str("message")?
            .str("slow down")?;
        e.str("code")?
            .str("rate_limited")?
            .str("retryAfterMs")?
            .f64(1500.0)?;
        Ok(())
    });
    assert_eq!(
        Message::decode(&error),
        Ok(Message::Error {
            message: "slow down".into(),
            code: Some(ErrorCode::RateLimited),
            retry_after_ms: Some(1500)
        })
    );
}

#[test]
fn fragment_integers_are_range_checked() {
    let bytes = |index: u64| {
        build(|e| {
            e.map(5)?
                .str("type")?
                .str("fragment")?
                .str("messageId")?
                .f64(4.0)?;
            e.str("index")?
                .u64(index)?
                .str("count")?
                .u64(1 << 32)?
                .str("data")?
                .bytes(&[1])?;
            Ok(())
        })
    };
    assert_eq!(
        Message::decode(&bytes(0)),
        Err(DecodeError::OutOfRange { field: "count" })
    );
    assert_eq!(
        Message::decode(&bytes(1 << 40)),
        Err(DecodeError::OutOfRange { field: "index" })
    );
}
