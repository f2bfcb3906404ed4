//! Failed IO steps against workerd: each injected fault is reported to the room, which retries
//! or closes the one peer concerned, and the quota stays exact.
//!
//! Faults are injected through the development-only `/__dev/` routes, which exist only when
//! the relay runs with `TESSERA_DEV_FAULTS=1`. Every test checks that the faults it planted
//! were really used up, so none can pass by the fault never happening.

use std::time::{Duration, Instant};

use relay_e2e::{Client, Relay, TokenSpec, connect_refusal, new_doc};
use sync_core::auth::Scope;
use sync_core::protocol::DocumentId;
use sync_core::relay::METRICS_PERIOD_MS;

const T: Duration = Duration::from_secs(30);
const DEV: &str = "TESSERA_DEV_FAULTS=1";
/// How far the tenant's count may be from the bytes really stored.
const SLACK: u64 = 4 * 1024;

fn json(relay: &Relay, method: &str, path: &str, token: Option<&str>) -> serde_json::Value {
    let (status, body) = relay
        .request(method, path, token)
        .unwrap_or_else(|| panic!("{method} {path}: no answer"));
    assert_eq!(status, 200, "{method} {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"))
}

/// Plans faults in `doc`'s room, e.g. `quota_calls=2`; returns the room's instance (its
/// creation time), which must not change: a fault must never crash the object.
fn plan_faults(relay: &Relay, doc: DocumentId, faults: &str) -> u64 {
    json(
        relay,
        "POST",
        &format!("/__dev/docs/{doc}/faults?tenant=t1&{faults}"),
        None,
    )["instance"]
        .as_u64()
        .expect("the room's instance")
}

/// Asserts every planted fault happened, in the instance they were planted in.
fn faults_used_up(relay: &Relay, doc: DocumentId, instance: u64) {
    let s = stored(relay, doc);
    assert_eq!(
        s["instance"].as_u64(),
        Some(instance),
        "the room crashed and was rebuilt: {s}"
    );
    assert_eq!(faults_left(relay, doc), 0, "the faults never happened: {s}");
}

/// What `doc`'s room stores and which planted faults are still unused.
fn stored(relay: &Relay, doc: DocumentId) -> serde_json::Value {
    json(
        relay,
        "GET",
        &format!("/__dev/docs/{doc}/stored?tenant=t1"),
        None,
    )
}

fn faults_left(relay: &Relay, doc: DocumentId) -> u64 {
    let v = stored(relay, doc);
    v["faults"].as_object().map_or(0, |m| {
        m.values().filter_map(serde_json::Value::as_u64).sum()
    })
}

fn usage_stored(relay: &Relay, token: &str) -> u64 {
    json(relay, "GET", "/v1/usage", Some(token))["stored_bytes"]
        .as_u64()
        .unwrap()
}

fn r2_count(relay: &Relay, prefix: &str) -> u64 {
    json(
        relay,
        "GET",
        &format!("/__dev/r2/count?prefix={prefix}"),
        None,
    )["count"]
        .as_u64()
        .unwrap()
}

/// Waits until the room's metrics timer has fired. Otherwise it would be overdue when the
/// relay comes back from a restart, and would load the room before the test plants faults in it.
async fn timers_fired() {
    tokio::time::sleep(Duration::from_millis(METRICS_PERIOD_MS + 1_000)).await;
}

async fn in_sync(c: &mut Client) -> bool {
    c.online_until(T, |c| c.device.sync.is_in_sync()).await
}

/// Waits (pumping `c`) until `done` holds, up to `T`.
async fn eventually(c: &mut Client, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        c.pump_for(Duration::from_millis(250)).await;
    }
    done()
}

/// Edits `n` titles, then waits until every one is acknowledged.
async fn edits(c: &mut Client, n: usize, tag: &str) {
    for i in 0..n {
        c.edit(|p| p.set_title(&format!("{tag} {i}")).unwrap())
            .await;
        c.pump_for(Duration::from_millis(10)).await;
    }
    assert!(
        c.pump_until(T, &mut |c| c.device.sync.is_in_sync()).await,
        "{tag}: edits never acknowledged: {:?}",
        c.device.events
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_oversized_attachment_closes_only_that_peer() {
    let relay = Relay::start("f-attach", &[DEV]);
    let doc = new_doc();
    let url = relay.doc_url(&doc.to_string(), &TokenSpec::writer().mint());
    let mut a = Client::new("a", url.clone(), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    let mut b = Client::new("b", url.clone(), doc, false);
    assert!(b.online_until(T, |b| b.title() == "E2E page").await);

    // The newcomer's first attachment is over the runtime's limit.
    let instance = plan_faults(&relay, doc, "oversized_attachments=1");
    let refusal = connect_refusal(&url).await;
    assert_eq!(refusal.status, 101, "refused over HTTP: {refusal:?}");
    assert_eq!(refusal.close_code, Some(1011), "{refusal:?}");
    faults_used_up(&relay, doc, instance);

    // Everyone else keeps syncing and being acknowledged.
    a.edit(|p| p.set_title("after the fault").unwrap()).await;
    assert!(
        a.pump_until(T, &mut |a| a.device.sync.is_in_sync()).await,
        "A's change was never acknowledged: {:?}",
        a.device.events
    );
    assert!(
        b.pump_until(T, &mut |b| b.title() == "after the fault")
            .await
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_quota_call_is_retried_until_the_change_is_acknowledged() {
    let relay = Relay::start("f-quota", &[DEV]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let instance = plan_faults(&relay, doc, "quota_calls=2");
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(
        in_sync(&mut a).await,
        "the first write was never acknowledged: {:?}",
        a.device.events
    );
    faults_used_up(&relay, doc, instance);
    assert_eq!(a.last_close, None, "closed: {:?}", a.device.events);
    let usage = json(&relay, "GET", "/v1/usage", Some(&token));
    assert_eq!(usage["docs"], 1, "{usage}");
    // A reader gets what was acknowledged.
    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &token), doc, false);
    assert!(b.online_until(T, |b| b.title() == "E2E page").await);
}

#[tokio::test(flavor = "current_thread")]
async fn failed_log_writes_and_r2_puts_are_retried_and_nothing_is_lost() {
    let mut relay = Relay::start("f-storage", &[DEV]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let instance = plan_faults(&relay, doc, "log_writes=3");
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    edits(&mut a, 10, "title").await;
    faults_used_up(&relay, doc, instance);

    // A new incarnation refreshes the snapshot at once; its first two snapshot puts fail.
    relay.restart();
    let instance = plan_faults(&relay, doc, "r2_puts=2");
    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &token), doc, false);
    assert!(
        b.online_until(T, |b| b.title() == "title 9").await,
        "acknowledged changes lost: {:?}",
        b.title()
    );
    // The rows stay (they are the source of truth); the snapshot is a first-sync cache.
    let compacted = eventually(&mut b, || {
        let s = stored(&relay, doc);
        s["log_bytes"].as_u64().unwrap_or(0) > 0 && s["snapshot_bytes"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(compacted, "never snapshotted: {}", stored(&relay, doc));
    faults_used_up(&relay, doc, instance);
    // Failed rows took no quota: the tenant is counted the change bytes stored (the snapshot,
    // a cache, is not charged), within a few KiB.
    let log = stored(&relay, doc)["log_bytes"].as_u64().unwrap();
    let exact = eventually(&mut b, || {
        usage_stored(&relay, &token).abs_diff(log) <= SLACK
    })
    .await;
    assert!(
        exact,
        "usage {} for {log} change bytes stored",
        usage_stored(&relay, &token)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_load_is_retried_without_dropping_the_socket() {
    let mut relay = Relay::start("f-load", &[DEV]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    edits(&mut a, 3, "loaded").await;
    drop(a);

    timers_fired().await;
    relay.restart();
    let instance = plan_faults(&relay, doc, "loads=3");
    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &token), doc, false);
    assert!(
        b.online_until(T, |b| b.title() == "loaded 2").await,
        "never served after the load failures: {:?}",
        b.device.events
    );
    assert_eq!(
        b.last_close, None,
        "the socket was dropped: {:?}",
        b.device.events
    );
    faults_used_up(&relay, doc, instance);

    // While a room cannot load, its snapshot is "try again", never an empty document.
    timers_fired().await;
    relay.restart();
    plan_faults(&relay, doc, "loads=1000");
    let resp = relay
        .http(
            "GET",
            &format!("/v1/docs/{doc}/snapshot"),
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .unwrap();
    assert_eq!(resp.status, 503, "{resp:?}");
    assert!(resp.header("retry-after").is_some(), "{resp:?}");
    assert!(resp.body.contains("\"code\""), "{resp:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn quota_stays_exact_across_cold_rooms() {
    let mut relay = Relay::start("f-exact", &[DEV]);
    let token = TokenSpec::writer().mint();
    let docs: Vec<DocumentId> = (0..3)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(2));
            new_doc()
        })
        .collect();
    // 3 documents x 4 cold starts x 25 edits: 300 small edits, each room cold every round.
    for round in 0..4 {
        for (i, doc) in docs.iter().enumerate() {
            let url = relay.doc_url(&doc.to_string(), &token);
            let mut c = Client::new(&format!("c{i}"), url, *doc, round == 0);
            let ready = if round == 0 {
                in_sync(&mut c).await
            } else {
                c.online_until(T, |c| c.title().starts_with("round")).await
            };
            assert!(ready, "round {round}, doc {i}: {:?}", c.device.events);
            edits(&mut c, 25, &format!("round {round}")).await;
        }
        relay.restart();
    }
    // Each room, woken once more, refreshes its snapshot at once and gives back what it holds
    // unused. The tenant is counted the change bytes; the snapshot is a cache, not charged.
    let mut really = 0;
    for (i, doc) in docs.iter().enumerate() {
        let url = relay.doc_url(&doc.to_string(), &token);
        let mut c = Client::new(&format!("check{i}"), url, *doc, false);
        assert!(c.online_until(T, |c| c.title() == "round 3 24").await);
        let compacted = eventually(&mut c, || {
            stored(&relay, *doc)["snapshot_bytes"].as_u64().unwrap_or(0) > 0
        })
        .await;
        assert!(compacted, "doc {i}: {}", stored(&relay, *doc));
        really += stored(&relay, *doc)["log_bytes"].as_u64().unwrap();
    }
    let deadline = Instant::now() + T;
    let mut counted = usage_stored(&relay, &token);
    while counted.abs_diff(really) > SLACK && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        counted = usage_stored(&relay, &token);
    }
    assert!(
        counted.abs_diff(really) <= SLACK,
        "the tenant is counted {counted} bytes for {really} stored"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn deleted_snapshots_leave_r2_even_when_deletes_fail_and_the_sweep_pages() {
    let mut relay = Relay::start("f-delete", &[DEV]);
    let doc = new_doc();
    let token = TokenSpec::writer().mint();
    let mut a = Client::new("a", relay.doc_url(&doc.to_string(), &token), doc, true);
    assert!(in_sync(&mut a).await, "{:?}", a.device.events);
    edits(&mut a, 3, "doomed").await;
    drop(a);
    relay.restart();
    let mut b = Client::new("b", relay.doc_url(&doc.to_string(), &token), doc, false);
    assert!(b.online_until(T, |b| b.title() == "doomed 2").await);
    let compacted = eventually(&mut b, || {
        stored(&relay, doc)["snapshot_bytes"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(compacted, "{}", stored(&relay, doc));
    assert!(r2_count(&relay, "snapshots/") > 0);

    // The delete's R2 deletes fail twice; the room retries until the snapshot is gone.
    let instance = plan_faults(&relay, doc, "r2_deletes=2");
    let admin = TokenSpec {
        scope: Scope::Admin,
        ..TokenSpec::writer()
    }
    .mint();
    let (status, body) = relay
        .request("DELETE", &format!("/v1/docs/{doc}"), Some(&admin))
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let gone = eventually(&mut b, || r2_count(&relay, "snapshots/") == 0).await;
    assert!(gone, "{} snapshots left", r2_count(&relay, "snapshots/"));
    faults_used_up(&relay, doc, instance);

    // What a late put would leave of the deleted document, and 1,100 superseded generations
    // of another: the sweep pages through them all.
    let other = new_doc();
    // (In pieces, each request well under a Worker's subrequest limit.)
    for (d, from, count) in [
        (doc, 1, 3),
        (other, 1, 500),
        (other, 501, 500),
        (other, 1001, 100),
    ] {
        json(
            &relay,
            "POST",
            &format!("/__dev/r2/plant?prefix=snapshots/t1/{d}/&from={from}&count={count}"),
            None,
        );
    }
    assert_eq!(r2_count(&relay, "snapshots/"), 1103);
    json(&relay, "POST", "/__dev/sweep", None);
    assert_eq!(r2_count(&relay, &format!("snapshots/t1/{doc}/")), 0);
    assert_eq!(r2_count(&relay, &format!("snapshots/t1/{other}/")), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn unknown_documents_are_not_created_by_reads_or_deletes() {
    let big = 1u64 << 40;
    let plans = format!(
        r#"PLANS={{"free":{{"max_docs":1,"max_stored_bytes":{big},"max_change_bytes_per_window":{big},"window_secs":60}}}}"#
    );
    let relay = Relay::start("f-unknown", &[DEV, plans.as_str()]);
    let token = TokenSpec::writer().mint();
    let admin = TokenSpec {
        scope: Scope::Admin,
        ..TokenSpec::writer()
    }
    .mint();
    let ghost = new_doc();
    let resp = relay
        .http(
            "GET",
            &format!("/v1/docs/{ghost}/snapshot"),
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .unwrap();
    assert_eq!(resp.status, 404, "{resp:?}");
    assert!(resp.body.contains("not_found"), "{resp:?}");
    let (status, body) = relay
        .request("DELETE", &format!("/v1/docs/{ghost}"), Some(&admin))
        .unwrap();
    assert_eq!(status, 404, "{body}");
    // Nothing was stored for it, and it took none of the tenant's one document.
    let s = stored(&relay, ghost);
    assert_eq!(s["exists"], false, "{s}");
    assert_eq!(s["meta_rows"], 0, "{s}");
    assert_eq!(json(&relay, "GET", "/v1/usage", Some(&token))["docs"], 0);
    let real = new_doc();
    let mut c = Client::new("c", relay.doc_url(&real.to_string(), &token), real, true);
    assert!(in_sync(&mut c).await, "{:?}", c.device.events);
    assert_eq!(json(&relay, "GET", "/v1/usage", Some(&token))["docs"], 1);
    // A second one is over the limit: the limit counts rooms whichever route reached them.
    let (status, _) = relay
        .request("GET", &format!("/v1/docs/{ghost}/snapshot"), Some(&token))
        .unwrap();
    assert_eq!(status, 404);
    let next = new_doc();
    let mut d = Client::new("d", relay.doc_url(&next.to_string(), &token), next, true);
    assert!(
        d.online_until(T, |d| d.refused_with("quota_exceeded"))
            .await,
        "{:?}",
        d.device.events
    );
}

#[tokio::test(flavor = "current_thread")]
async fn rooms_reserving_at_the_same_moment_are_all_counted() {
    let relay = Relay::start("f-concurrent", &[]);
    let token = TokenSpec::writer().mint();
    // Eight documents created at once: their rooms ask the tenant's quota together, and each
    // first reservation counts a document. A lost update would count fewer.
    let mut clients: Vec<Client> = (0..8)
        .map(|i| {
            std::thread::sleep(Duration::from_millis(2));
            let doc = new_doc();
            Client::new(
                &format!("c{i}"),
                relay.doc_url(&doc.to_string(), &token),
                doc,
                true,
            )
        })
        .collect();
    let synced = futures_util::future::join_all(
        clients
            .iter_mut()
            .map(|c| c.online_until(T, |c| c.device.sync.is_in_sync())),
    )
    .await;
    assert!(synced.iter().all(|s| *s), "{synced:?}");
    let usage = json(&relay, "GET", "/v1/usage", Some(&token));
    assert_eq!(usage["docs"], 8, "{usage}");
}
