//! Bounded memory against workerd: fragments, strings, ephemeral messages, queues and rates.
//!
//! Each test plays one attacker with raw frames ([`RawPeer`]) and, where it matters, checks
//! that honest clients of the same document keep syncing while the attacker is refused.

use std::time::Duration;

use relay_e2e::{Client, EMPTY_SYNC_DATA, Next, RawPeer, Refusal, Relay, TokenSpec, join, new_doc};
use sync_core::auth::Scope;
use sync_core::protocol::{DocumentId, Message, PeerId};

const T: Duration = Duration::from_secs(20);
/// How long to wait for a refusal that must come promptly.
const REFUSAL: Duration = Duration::from_secs(8);
/// Fragment data under the 1 MiB frame limit.
const BIG_PIECE: usize = 900_000;

/// `PLANS` with the `free` plan's rates set to `peer_messages` per connection and otherwise far
/// above anything a test sends, so that only the bound under test can refuse.
fn plans(peer_messages: u64) -> String {
    plans_with(peer_messages, 100_000)
}

/// `PLANS` with `peer_messages` per connection and `tenant_messages` per tenant in a room.
fn plans_with(peer_messages: u64, tenant_messages: u64) -> String {
    let big = 1u64 << 40;
    format!(
        concat!(
            "PLANS={{",
            r#""free":{{"max_docs":100,"max_stored_bytes":{big},"max_change_bytes_per_window":{big},"window_secs":60,"#,
            r#""peer_messages_per_sec":{peer},"peer_bytes_per_sec":{big},"tenant_messages_per_sec":{tenant},"tenant_bytes_per_sec":{big}}}"#,
            "}}"
        ),
        big = big,
        peer = peer_messages,
        tenant = tenant_messages,
    )
}

fn fragment(message_id: u64, index: u32, count: u32, len: usize) -> Message {
    Message::Fragment {
        message_id,
        index,
        count,
        data: vec![0x5a; len],
    }
}

fn ephemeral(doc: DocumentId, sender: &str, count: u64, len: usize) -> Message {
    Message::Ephemeral {
        sender_id: PeerId::from(sender),
        target_id: PeerId::from("tessera-relay"),
        count,
        session_id: "session".into(),
        document_id: doc,
        data: vec![0xa0; len],
    }
}

/// A request for `doc` from an empty peer: subscribes the connection to the document.
fn subscribe(doc: DocumentId, sender: &str) -> Message {
    Message::Request {
        document_id: doc,
        sender_id: PeerId::from(sender),
        target_id: PeerId::from("tessera-relay"),
        data: EMPTY_SYNC_DATA.to_vec(),
    }
}

/// Reads until the relay refuses `p`; panics with `what` if it does not within [`REFUSAL`].
async fn refused(p: &mut RawPeer, what: &str) -> Refusal {
    let mut seen = Vec::new();
    p.refusal(REFUSAL, &mut seen)
        .await
        .unwrap_or_else(|| panic!("{what}: the relay did not refuse (saw {seen:?})"))
}

/// After a request: `None` once the relay answers it, the refusal if it closes instead.
async fn answered_or_refused(p: &mut RawPeer) -> Option<Refusal> {
    let mut refusal = Refusal {
        status: 101,
        ..Refusal::default()
    };
    loop {
        match p.next(REFUSAL).await {
            Next::Message(Message::Error {
                message,
                code,
                retry_after_ms,
            }) => {
                refusal.code = code.map(|c| c.as_str().to_owned());
                refusal.message = message;
                refusal.retry_after_ms = retry_after_ms;
            }
            Next::Message(_) => return None,
            Next::Closed(code) => {
                refusal.close_code = code;
                return Some(refusal);
            }
            Next::Timeout => panic!("the relay neither answered nor refused"),
        }
    }
}

fn assert_code(r: &Refusal, code: &str, what: &str) {
    assert_eq!(r.code.as_deref(), Some(code), "{what}: {r:?}");
    assert!(r.in_band(), "{what}: {r:?}");
}

/// A writer and a reader that are in sync; `check` edits with the writer and waits for the
/// reader to see it.
struct Honest {
    writer: Client,
    reader: Client,
}

impl Honest {
    async fn start(relay: &Relay, doc: DocumentId, token: &str) -> Self {
        let url = relay.doc_url(&doc.to_string(), token);
        let mut writer = Client::new("writer", url.clone(), doc, true);
        assert!(
            writer.online_until(T, |c| c.device.sync.is_in_sync()).await,
            "writer: {:?}",
            writer.device.events
        );
        let mut reader = Client::new("reader", url, doc, false);
        assert!(
            reader.online_until(T, |c| c.title() == "E2E page").await,
            "reader: {:?}",
            reader.device.events
        );
        Self { writer, reader }
    }

    async fn check(&mut self, title: &str) {
        self.writer.edit(|p| p.set_title(title).unwrap()).await;
        assert!(
            self.writer
                .pump_until(T, &mut |c| c.device.sync.is_in_sync())
                .await,
            "{title}: writer not in sync: {:?}",
            self.writer.device.events
        );
        assert!(
            self.reader.pump_until(T, &mut |c| c.title() == title).await,
            "{title}: reader never saw it: {:?}",
            self.reader.device.events
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn fragments_over_the_per_peer_bounds_are_refused_and_others_keep_syncing() {
    // Rates out of the way: 9 MB in a second is over the default byte rate.
    let plans = plans(100_000);
    let relay = Relay::start("limits-frag-peer", &[plans.as_str()]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let url = relay.doc_url(&doc.to_string(), &token);
    let mut honest = Honest::start(&relay, doc, &token).await;

    // Six partial messages at once, each tiny.
    let mut many = RawPeer::joined(&url, "many-partials").await;
    for id in 0..6 {
        if !many.send(&fragment(id, 0, 2, 10)).await {
            break;
        }
    }
    let r = refused(&mut many, "6 partial messages").await;
    assert_code(&r, "payload_too_large", "6 partial messages");

    // One partial message growing past the per-peer byte bound, in legal-size frames.
    let mut big = RawPeer::joined(&url, "big-partial").await;
    for index in 0..10 {
        if !big.send(&fragment(1, index, 100, BIG_PIECE)).await {
            break;
        }
    }
    let r = refused(&mut big, "9 MB of one partial message").await;
    assert_code(&r, "payload_too_large", "9 MB of one partial message");

    honest.check("after the fragment attacks").await;
}

#[tokio::test(flavor = "current_thread")]
async fn fragments_over_the_room_bound_are_refused_and_others_keep_syncing() {
    let plans = plans(100_000);
    let relay = Relay::start("limits-frag-room", &[plans.as_str()]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let url = relay.doc_url(&doc.to_string(), &token);
    let mut honest = Honest::start(&relay, doc, &token).await;

    // Ten connections each stay under the per-peer bound (4 x 900 kB) but not together.
    let mut attackers = Vec::new();
    let mut refusals = Vec::new();
    for a in 0..10 {
        let mut p = RawPeer::joined(&url, &format!("hoarder-{a}")).await;
        for index in 0..4 {
            if !p.send(&fragment(7, index, 100, BIG_PIECE)).await {
                break;
            }
        }
        // Whatever the relay says to this one arrives before it answers a fresh request.
        p.send(&subscribe(doc, &format!("hoarder-{a}"))).await;
        if let Some(r) = answered_or_refused(&mut p).await {
            refusals.push((a, r));
        }
        attackers.push(p);
    }
    assert!(
        !refusals.is_empty(),
        "36 MB of partial messages in one room were all accepted"
    );
    for (a, r) in &refusals {
        assert_code(r, "payload_too_large", &format!("hoarder {a}"));
    }
    // The first ones fit and were kept: only the connection that crossed the bound is closed.
    assert!(refusals.iter().all(|(a, _)| *a >= 8), "{refusals:?}");

    honest.check("after the room-wide fragment attack").await;
}

#[tokio::test(flavor = "current_thread")]
async fn fragments_before_join_are_bad_message() {
    let relay = Relay::start("limits-frag-early", &[]);
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint());
    let mut p = RawPeer::connect(&url).await;
    p.send(&fragment(1, 0, 2, 1000)).await;
    let r = refused(&mut p, "fragment before join").await;
    assert_code(&r, "bad_message", "fragment before join");
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_only_peer_cannot_buffer_fragments() {
    let relay = Relay::start("limits-frag-read", &[]);
    let doc = new_doc();
    let read = TokenSpec {
        scope: Scope::Read,
        ..TokenSpec::writer()
    }
    .mint();
    let url = relay.doc_url(&doc.to_string(), &read);
    let mut p = RawPeer::joined(&url, "reader").await;
    p.send(&fragment(1, 0, 2, 1000)).await;
    let r = refused(&mut p, "read-only fragment").await;
    assert_code(&r, "permission_denied", "read-only fragment");
}

#[tokio::test(flavor = "current_thread")]
async fn an_over_long_peer_id_is_bad_message() {
    let relay = Relay::start("limits-long-id", &[]);
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint());
    let mut p = RawPeer::connect(&url).await;
    p.send(&join(&"x".repeat(100_000))).await;
    let mut seen = Vec::new();
    let r = p
        .refusal(REFUSAL, &mut seen)
        .await
        .unwrap_or_else(|| panic!("a 100 kB senderId was accepted: {seen:?}"));
    assert_code(&r, "bad_message", "100 kB senderId");
    assert!(
        !seen.iter().any(|m| matches!(m, Message::Peer { .. })),
        "the relay answered the join: {seen:?}"
    );

    // So is a join listing a thousand protocol versions.
    let mut p = RawPeer::connect(&url).await;
    p.send(&Message::Join {
        sender_id: PeerId::from("many-versions"),
        supported_protocol_versions: (0..1000).map(|i| i.to_string()).collect(),
        metadata: None,
    })
    .await;
    let r = refused(&mut p, "1000 protocol versions").await;
    assert_code(&r, "bad_message", "1000 protocol versions");
}

#[tokio::test(flavor = "current_thread")]
async fn an_oversized_ephemeral_is_payload_too_large() {
    let relay = Relay::start("limits-eph-size", &[]);
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint());
    let mut p = RawPeer::joined(&url, "presence").await;
    p.send(&ephemeral(doc, "presence", 1, 200_000)).await;
    let r = refused(&mut p, "200 kB ephemeral").await;
    assert_code(&r, "payload_too_large", "200 kB ephemeral");
}

#[tokio::test(flavor = "current_thread")]
async fn an_ephemeral_flood_is_rate_limited_with_retry_after() {
    let relay = Relay::start("limits-eph-rate", &[]);
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint());
    let mut p = RawPeer::joined(&url, "chatty").await;
    // Under the plan's 200 messages per second, over the ephemeral bound.
    for count in 0..150 {
        if !p.send(&ephemeral(doc, "chatty", count, 16)).await {
            break;
        }
    }
    let r = refused(&mut p, "150 ephemerals at once").await;
    assert_code(&r, "rate_limited", "150 ephemerals at once");
    assert!(
        r.retry_after_ms.is_some_and(|ms| ms > 0),
        "no retryAfterMs: {r:?}"
    );
    assert!(r.message.contains("ephemeral"), "{r:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_spoofed_ephemeral_sender_is_not_delivered_and_nothing_is_stored() {
    let relay = Relay::start("limits-eph-spoof", &[]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let url = relay.doc_url(&doc.to_string(), &token);
    let mut watcher = RawPeer::joined(&url, "watcher").await;
    watcher.send(&subscribe(doc, "watcher")).await;
    // The empty document is unavailable, and the watcher stays subscribed.
    match watcher.next(T).await {
        Next::Message(Message::DocUnavailable { .. }) => {}
        other => panic!("expected doc-unavailable, got {other:?}"),
    }

    let mut mallory = RawPeer::joined(&url, "mallory").await;
    mallory.send(&ephemeral(doc, "victim", 1, 32)).await;
    let got = loop {
        match watcher.next(T).await {
            Next::Message(Message::Ephemeral { sender_id, .. }) => break sender_id,
            Next::Message(_) => {}
            other => panic!("no ephemeral reached the watcher: {other:?}"),
        }
    };
    assert_eq!(got.as_str(), "mallory", "presence was spoofed");

    // Ephemeral data is relayed, never stored: the tenant stores nothing.
    let (_, usage) = relay.request("GET", "/v1/usage", Some(&token)).unwrap();
    let usage: serde_json::Value = serde_json::from_str(&usage).unwrap();
    assert_eq!(usage["stored_bytes"], 0, "{usage}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_message_flood_over_the_plan_rate_is_rate_limited_and_others_keep_syncing() {
    let plans = plans(20);
    let relay = Relay::start("limits-rate", &[plans.as_str()]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let url = relay.doc_url(&doc.to_string(), &token);
    let mut honest = Honest::start(&relay, doc, &token).await;

    let mut flood = RawPeer::joined(&url, "flood").await;
    for _ in 0..200 {
        if !flood.send(&subscribe(doc, "flood")).await {
            break;
        }
    }
    let r = refused(&mut flood, "200 messages at once").await;
    assert_code(&r, "rate_limited", "200 messages at once");
    assert!(
        r.retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 1000),
        "retryAfterMs: {r:?}"
    );

    honest.check("after the flood").await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_tenant_rate_covers_all_its_connections_to_a_document() {
    // Each connection may send 1000 a second, all of the tenant's together 30.
    let plans = plans_with(1000, 30);
    let relay = Relay::start("limits-tenant-rate", &[plans.as_str()]);
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint());
    let mut first = RawPeer::joined(&url, "first").await;
    // Requests for another document: each is answered (`doc-unavailable`), and counts against
    // the rates like any frame.
    let elsewhere = new_doc();
    for _ in 0..20 {
        first.send(&subscribe(elsewhere, "first")).await;
    }
    // The first connection alone stays under the tenant's rate: every request is answered.
    let mut answered = 0;
    while answered < 20 {
        match first.next(T).await {
            Next::Message(Message::DocUnavailable { .. }) => answered += 1,
            Next::Message(_) => {}
            other => panic!("the first connection was not served: {other:?}"),
        }
    }
    let mut second = RawPeer::joined(&url, "second").await;
    for _ in 0..20 {
        if !second.send(&subscribe(doc, "second")).await {
            break;
        }
    }
    let r = refused(&mut second, "40 messages of one tenant at once").await;
    assert_code(&r, "rate_limited", "40 messages of one tenant at once");
    assert!(
        r.retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 1000),
        "retryAfterMs: {r:?}"
    );
    assert!(r.message.contains("tenant"), "{r:?}");
}
