//! How a room's events are written down: one JSON log line per event that matters, and one
//! Analytics Engine data point per metrics period. Pure, so the shapes are tested natively;
//! `DocRoom` prints the line and writes the point.
//!
//! The room decides what happened and when a metrics period ends (`sync_core::relay`); this
//! module only adds the labels the room does not know (tenant and document) and lays the
//! figures out in the order a dataset's columns are queried by.

use serde_json::json;
use sha2::{Digest, Sha256};
use sync_core::protocol::ErrorCode;
use sync_core::relay::{MetricsPoint, RoomEvent};

/// The largest Analytics Engine index, in bytes.
pub const MAX_INDEX_BYTES: usize = 96;

/// Which room an event belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RoomLabels<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The document id.
    pub doc: &'a str,
}

/// The JSON log line of `event`, or `None` for events not worth a line of their own (a metrics
/// point goes to the dataset; its line is [`metrics_line`]).
pub fn event_line(labels: RoomLabels<'_>, event: &RoomEvent) -> Option<String> {
    let (name, fields) = match event {
        RoomEvent::Connected { conn, subject } => {
            ("connect", json!({ "conn": conn.0, "sub": subject }))
        }
        RoomEvent::Refused { conn, code } => {
            ("refused", json!({ "conn": conn.0, "code": code.as_str() }))
        }
        RoomEvent::Loaded { bytes } => ("loaded", json!({ "bytes": bytes })),
        RoomEvent::Compacted { generation, bytes } => (
            "compacted",
            json!({ "generation": generation, "bytes": bytes }),
        ),
        RoomEvent::QuotaAnswered { answer } => match answer {
            Ok(granted) => ("quota", json!({ "granted": granted })),
            Err(code) => ("quota", json!({ "refused": code.as_str() })),
        },
        RoomEvent::QuotaReleased { bytes, document } => (
            "quota_released",
            json!({ "bytes": bytes, "document": document }),
        ),
        RoomEvent::StorageFailed { error } => {
            ("error", json!({ "step": "storage", "error": error }))
        }
        RoomEvent::IoFailed { error } => ("error", json!({ "step": "io", "error": error })),
        RoomEvent::Persisted { .. } | RoomEvent::Metrics(_) => return None,
    };
    Some(line(labels, name, fields))
}

/// The JSON log line of a metrics point: the same figures the data point carries.
pub fn metrics_line(labels: RoomLabels<'_>, point: &MetricsPoint) -> String {
    let refusals: serde_json::Map<String, serde_json::Value> = point
        .refusals
        .iter()
        .map(|(code, n)| (code.as_str().to_owned(), (*n).into()))
        .collect();
    let fields = json!({
        "period_ms": point.period_ms,
        "frames_in": point.frames_in,
        "bytes_in": point.bytes_in,
        "frames_out": point.frames_out,
        "bytes_out": point.bytes_out,
        "changes": point.changes,
        "change_bytes": point.change_bytes,
        "connects": point.connects,
        "peers": point.peers,
        "refusals": refusals,
    });
    line(labels, "metrics", fields)
}

fn line(labels: RoomLabels<'_>, event: &str, fields: serde_json::Value) -> String {
    let mut object = json!({ "event": event, "tenant": labels.tenant, "doc": labels.doc });
    if let (Some(o), serde_json::Value::Object(f)) = (object.as_object_mut(), fields) {
        o.extend(f);
    }
    object.to_string()
}

/// One Analytics Engine data point: the index, the blobs and the doubles, in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoint {
    /// The tenant, or a digest of it when it is longer than [`MAX_INDEX_BYTES`].
    pub index: String,
    /// `blob1` = the document id, `blob2` = the tenant in full.
    pub blobs: Vec<String>,
    /// `double1..10` = period ms, frames in, bytes in, frames out, bytes out, changes, change
    /// bytes, connects, peers, refusals in total; `double11..18` = refusals per code, in
    /// [`ErrorCode::ALL`] order.
    pub doubles: Vec<f64>,
}

/// The data point of one metrics period.
pub fn data_point(labels: RoomLabels<'_>, point: &MetricsPoint) -> DataPoint {
    let index = if labels.tenant.len() <= MAX_INDEX_BYTES {
        labels.tenant.to_owned()
    } else {
        // An index over the limit drops the whole point; a digest keeps tenants apart.
        hex_digest(labels.tenant)
    };
    let mut doubles = vec![
        point.period_ms as f64,
        point.frames_in as f64,
        point.bytes_in as f64,
        point.frames_out as f64,
        point.bytes_out as f64,
        point.changes as f64,
        point.change_bytes as f64,
        point.connects as f64,
        point.peers as f64,
        point.refusals_total() as f64,
    ];
    doubles.extend(
        ErrorCode::ALL
            .iter()
            .map(|code| point.refusals.get(code).copied().unwrap_or(0) as f64),
    );
    DataPoint {
        index,
        blobs: vec![labels.doc.to_owned(), labels.tenant.to_owned()],
        doubles,
    }
}

fn hex_digest(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::io::ConnId;

    const LABELS: RoomLabels<'static> = RoomLabels {
        tenant: "t1",
        doc: "4NMNnkMhL8jXrdJ9jamS58PAVdXu",
    };

    #[test]
    fn events_that_matter_are_one_json_line_each() {
        let refused = RoomEvent::Refused {
            conn: ConnId(3),
            code: ErrorCode::RateLimited,
        };
        let v: serde_json::Value =
            serde_json::from_str(&event_line(LABELS, &refused).unwrap()).unwrap();
        assert_eq!(v["event"], "refused");
        assert_eq!(v["code"], "rate_limited");
        assert_eq!(
            (v["tenant"].as_str(), v["conn"].as_u64()),
            (Some("t1"), Some(3))
        );
        let quota = RoomEvent::QuotaAnswered {
            answer: Err(ErrorCode::QuotaExceeded),
        };
        let line = event_line(LABELS, &quota).unwrap();
        assert!(line.contains(r#""refused":"quota_exceeded""#), "{line}");
        let error = RoomEvent::IoFailed {
            error: "send: closed\nsecond line".into(),
        };
        let line = event_line(LABELS, &error).unwrap();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(
            event_line(
                LABELS,
                &RoomEvent::Persisted {
                    chunks: 1,
                    bytes: 2
                }
            )
            .is_none()
        );
    }

    #[test]
    fn a_metrics_point_fills_the_columns_in_order() {
        let mut point = MetricsPoint {
            period_ms: 10_000,
            frames_in: 5,
            bytes_in: 500,
            frames_out: 4,
            bytes_out: 400,
            changes: 2,
            change_bytes: 200,
            connects: 1,
            peers: 3,
            ..MetricsPoint::default()
        };
        point.refusals.insert(ErrorCode::BadMessage, 2);
        let p = data_point(LABELS, &point);
        assert_eq!(p.index, "t1");
        assert_eq!(p.blobs, [LABELS.doc, "t1"]);
        assert_eq!(p.doubles.len(), 10 + ErrorCode::ALL.len());
        assert!(p.doubles.len() <= 20, "Analytics Engine takes 20 doubles");
        assert_eq!(
            &p.doubles[..10],
            &[10_000.0, 5.0, 500.0, 4.0, 400.0, 2.0, 200.0, 1.0, 3.0, 2.0]
        );
        let bad = 10
            + ErrorCode::ALL
                .iter()
                .position(|c| *c == ErrorCode::BadMessage)
                .unwrap();
        assert_eq!(p.doubles[bad], 2.0);
        let line: serde_json::Value = serde_json::from_str(&metrics_line(LABELS, &point)).unwrap();
        assert_eq!(line["refusals"]["bad_message"], 2);
        assert_eq!(line["bytes_out"], 400);
    }

    #[test]
    fn a_long_tenant_is_indexed_by_its_digest() {
        let tenant = "t".repeat(128);
        let labels = RoomLabels {
            tenant: &tenant,
            doc: "d",
        };
        let p = data_point(labels, &MetricsPoint::default());
        assert!(p.index.len() <= MAX_INDEX_BYTES);
        assert_ne!(
            p.index,
            data_point(
                RoomLabels {
                    tenant: "u",
                    doc: "d"
                },
                &MetricsPoint::default()
            )
            .index
        );
        assert_eq!(p.blobs[1], tenant, "the tenant in full stays in a blob");
    }
}
