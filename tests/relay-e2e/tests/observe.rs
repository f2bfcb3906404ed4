//! What an operator sees, against workerd: one JSON log line per room event that matters
//! (connect, refusal with its code, quota decision, metrics), never a token. The metrics line
//! carries the same figures the Worker writes to the Analytics Engine dataset (which `wrangler
//! dev` accepts and drops, so the log is where a test can read them).

use std::time::Duration;

use relay_e2e::{Client, Relay, TokenSpec, new_doc};
use sync_core::auth::Scope;
use sync_core::relay::METRICS_PERIOD_MS;

const T: Duration = Duration::from_secs(30);

/// The JSON objects in the relay's log that name a room event.
fn room_events(relay: &Relay) -> (Vec<serde_json::Value>, String) {
    let log = std::fs::read_to_string(relay.state.join("wrangler.log")).unwrap_or_default();
    let events = log
        .lines()
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("event").is_some())
        .collect();
    (events, log)
}

#[tokio::test(flavor = "current_thread")]
async fn room_events_and_metrics_are_logged_as_json_without_tokens() {
    let relay = Relay::start("observe", &[]);
    let doc = new_doc();
    let id = doc.to_string();
    let token = TokenSpec::writer().mint();
    let mut writer = Client::new("writer", relay.doc_url(&id, &token), doc, true);
    assert!(
        writer.online_until(T, |c| c.device.sync.is_in_sync()).await,
        "{:?}",
        writer.device.events
    );
    let read = TokenSpec {
        scope: Scope::Read,
        ..TokenSpec::writer()
    }
    .mint();
    let mut reader = Client::new("reader", relay.doc_url(&id, &read), doc, false);
    assert!(reader.online_until(T, |r| r.title() == "E2E page").await);
    reader
        .edit(|p| p.set_title("reader was here").unwrap())
        .await;
    assert!(
        reader
            .pump_until(T, &mut |r| r.refused_with("permission_denied"))
            .await
    );
    writer.edit(|p| p.set_title("second").unwrap()).await;
    assert!(
        writer
            .pump_until(T, &mut |c| c.device.sync.is_in_sync())
            .await
    );
    // Every period with counts ends in a point, at the room's own timer: nobody else writes.
    tokio::time::sleep(Duration::from_millis(METRICS_PERIOD_MS + 1_500)).await;

    let (events, log) = room_events(&relay);
    let of = |name: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|v| v["event"] == name).collect()
    };
    for v in &events {
        assert_eq!(v["tenant"], "t1", "{v}");
        assert_eq!(v["doc"], id, "{v}");
    }
    assert!(of("connect").len() >= 2, "no connect lines:\n{log}");
    assert!(
        of("quota").iter().any(|v| v["granted"].as_u64() > Some(0)),
        "no quota decision line:\n{log}"
    );
    assert!(
        of("refused")
            .iter()
            .any(|v| v["code"] == "permission_denied"),
        "no refusal line with its code:\n{log}"
    );
    let metrics = of("metrics");
    assert!(!metrics.is_empty(), "no metrics line:\n{log}");
    let sum = |field: &str| -> u64 { metrics.iter().filter_map(|v| v[field].as_u64()).sum() };
    assert!(sum("frames_in") > 2, "{metrics:?}");
    assert!(sum("bytes_out") > 0, "{metrics:?}");
    assert!(sum("changes") >= 2, "both edits were counted: {metrics:?}");
    assert_eq!(sum("connects"), 2, "{metrics:?}");
    let denied: u64 = metrics
        .iter()
        .filter_map(|v| v["refusals"]["permission_denied"].as_u64())
        .sum();
    assert_eq!(denied, 1, "{metrics:?}");
    for secret in [&token, &read] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "a token is in the log");
    }
}
