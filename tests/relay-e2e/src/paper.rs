//! The automerge-paper history in the relay's graph room: build it (one change per edit),
//! upload it as an automerge peer does, read the room's wasm memory, and sync it to a fresh
//! device. Shared by the graph suite and the workerd figures of `relay-graph-bench`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ObjType, ROOT, ReadDoc};
use sync_core::protocol::{DocumentId, Message, PeerId};

use crate::{Next, RawPeer, Relay};

/// Change bytes per upload message, under the relay's 1 MiB frame.
const UPLOAD_BYTES: usize = 900_000;
/// Unacknowledged bytes an uploader keeps in flight, like a client: the relay bounds what
/// waits for storage per connection (8 MiB) and refuses past it.
const IN_FLIGHT_BYTES: usize = 4 * 1024 * 1024;

/// The history as change chunks (one per edit, in order), the hashes in the same order, the
/// final text, and the document's compressed save.
#[derive(Debug)]
pub struct History {
    pub changes: Vec<Vec<u8>>,
    pub hashes: Vec<ChangeHash>,
    pub text: String,
    pub save: Vec<u8>,
    /// Which history: the trace file, or the seeded stand-in when the file is absent.
    pub source: String,
}

fn trace_path() -> PathBuf {
    if let Ok(p) = std::env::var("TESSERA_TRACE") {
        return p.into();
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/automerge-paper-edits.json");
    if beside.exists() {
        return beside;
    }
    PathBuf::from("/work/shared/data/automerge-paper-edits.json")
}

impl History {
    /// The 259,778 edits of the automerge-paper trace (or the seeded stand-in of that length).
    pub fn paper() -> Self {
        let (edits, source) =
            editing_trace::load_or_stand_in(&trace_path(), editing_trace::PAPER_EDITS)
                .unwrap_or_else(|e| panic!("{e}"));
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "text", ObjType::Text).expect("text");
        doc.commit();
        for e in &edits {
            doc.splice_text(&text, e.pos, e.del as isize, &e.text)
                .expect("splice");
            doc.commit();
        }
        let changes = doc.get_changes(&[]);
        Self {
            hashes: changes.iter().map(|c| c.hash()).collect(),
            changes: changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
            text: doc.text(&text).expect("text"),
            save: doc.save(),
            source: source.to_string(),
        }
    }

    pub fn bytes(&self) -> usize {
        self.changes.iter().map(Vec::len).sum()
    }

    /// The sync message carrying changes `at..` up to `UPLOAD_BYTES`, and where it ends.
    fn message_from(&self, at: usize) -> (sync::Message, usize) {
        let mut end = at;
        let mut size = 0;
        while end < self.changes.len() && size + self.changes[end].len() < UPLOAD_BYTES {
            size += self.changes[end].len();
            end += 1;
        }
        let msg = sync::Message {
            heads: vec![self.hashes[end - 1]],
            need: Vec::new(),
            have: Vec::new(),
            changes: sync::ChunkList::from(self.changes[at..end].to_vec()),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        (msg, end)
    }
}

pub fn sync_message(doc: DocumentId, sender: &str, data: Vec<u8>) -> Message {
    Message::Sync {
        document_id: doc,
        sender_id: PeerId::from(sender),
        target_id: PeerId::from("tessera-relay"),
        data,
    }
}

/// A relay in workerd with the dev routes on, and a fresh document on it with an enterprise-plan
/// writer's token (tenant `t1`): the paper history is over the free plan's quotas.
pub fn relay_with_doc(name: &str) -> (Relay, DocumentId, String) {
    let relay = Relay::start(name, &["TESSERA_DEV_FAULTS=1"]);
    let doc = crate::new_doc();
    let token = crate::TokenSpec {
        plan: Some("enterprise".into()),
        ..crate::TokenSpec::writer()
    }
    .mint();
    let url = relay.doc_url(&doc.to_string(), &token);
    (relay, doc, url)
}

/// The room's wasm linear memory (it only grows, so it is the room's peak) and the dev
/// route's whole report. Needs the relay started with `TESSERA_DEV_FAULTS=1`.
pub fn wasm_memory(relay: &Relay, doc: DocumentId, tenant: &str) -> (u64, serde_json::Value) {
    let (status, body) = relay
        .request(
            "GET",
            &format!("/__dev/docs/{doc}/stored?tenant={tenant}"),
            None,
        )
        .expect("the dev route answers");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    (v["wasm_memory_bytes"].as_u64().expect("wasm memory"), v)
}

/// Reads what the relay sent until nothing arrives for `quiet`; the last ack's heads.
async fn drain(peer: &mut RawPeer, quiet: Duration) -> Option<Vec<String>> {
    let mut last_ack = None;
    loop {
        match peer.next(quiet).await {
            Next::Message(Message::Ack { heads, .. }) => last_ack = Some(heads),
            Next::Message(Message::Error { message, code, .. }) => {
                panic!("the relay refused the uploader: {code:?} {message}")
            }
            Next::Message(_) => {}
            Next::Timeout => return last_ack,
            Next::Closed(code) => panic!("the relay closed the uploader: {code:?}"),
        }
    }
}

/// Uploads the whole history in order, as an automerge peer whose heads advance with each
/// message, until the relay acknowledges all of it. `progress` is called after each message
/// with the count sent. Returns how many times unacknowledged changes were sent again.
pub async fn upload(
    url: &str,
    doc: DocumentId,
    history: &History,
    mut progress: impl FnMut(usize),
) -> usize {
    let mut up = RawPeer::joined_reading_acks(url, "uploader").await;
    let position: HashMap<String, usize> = history
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let mut acked = 0;
    let mut at = 0;
    while at < history.changes.len() {
        let (msg, end) = history.message_from(at);
        assert!(up.send(&sync_message(doc, "uploader", msg.encode())).await);
        at = end;
        progress(at);
        let mut quiet = Duration::from_millis(1);
        loop {
            if let Some(heads) = drain(&mut up, quiet).await
                && let Some(i) = heads.first().and_then(|h| position.get(h))
            {
                acked = acked.max(*i + 1);
            }
            let outstanding: usize = history.changes[acked..at].iter().map(Vec::len).sum();
            if outstanding < IN_FLIGHT_BYTES {
                break;
            }
            quiet = Duration::from_millis(50);
        }
    }
    let want = vec![history.hashes.last().expect("a history").to_string()];
    // Like any client, it resends what the relay has not acknowledged when no ack comes: a
    // room rebuilt meanwhile (evicted or hibernated in workerd) lost what was not yet durable.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut resends = 0;
    'whole: loop {
        let wait = Instant::now() + Duration::from_secs(15);
        while Instant::now() < wait {
            match up.next(Duration::from_secs(1)).await {
                Next::Message(Message::Ack { heads, .. }) => {
                    if heads == want {
                        break 'whole;
                    }
                    if let Some(i) = heads.first().and_then(|h| position.get(h)) {
                        acked = acked.max(*i + 1);
                    }
                }
                Next::Message(Message::Error { message, code, .. }) => {
                    panic!("the relay refused the uploader: {code:?} {message}")
                }
                Next::Closed(code) => panic!("the relay closed the uploader: {code:?}"),
                _ => {}
            }
        }
        assert!(
            Instant::now() < deadline,
            "the upload was never acknowledged whole"
        );
        resends += 1;
        let mut at = acked;
        while at < history.changes.len() {
            let (msg, end) = history.message_from(at);
            assert!(up.send(&sync_message(doc, "uploader", msg.encode())).await);
            at = end;
        }
    }
    resends
}

/// A fresh device's first sync of the whole document through the relay.
#[derive(Debug)]
pub struct FirstSync {
    /// Connect and handshake (`join` → `peer`): on a room that is not loaded, its cold start.
    pub handshake: Duration,
    /// From the handshake to holding every change.
    pub sync: Duration,
    /// Sync messages and their bytes, relay → device.
    pub messages: usize,
    pub bytes_down: usize,
    pub doc: AutoCommit,
}

/// Connects a device that has nothing, and syncs until it has `history`'s last change.
pub async fn first_sync(url: &str, doc: DocumentId, history: &History) -> FirstSync {
    let t = Instant::now();
    let mut device = RawPeer::joined(url, "fresh-device").await;
    let handshake = t.elapsed();
    let t = Instant::now();
    let mut local = AutoCommit::new();
    let mut state = sync::State::new();
    let first = local
        .sync()
        .generate_sync_message(&mut state)
        .expect("a first message");
    assert!(
        device
            .send(&sync_message(doc, "fresh-device", first.encode()))
            .await
    );
    let (mut messages, mut bytes_down) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    while local.get_heads().last() != history.hashes.last() {
        assert!(
            Instant::now() < deadline,
            "the fresh device did not catch up"
        );
        match device.next(Duration::from_secs(30)).await {
            Next::Message(Message::Sync { data, .. }) => {
                messages += 1;
                bytes_down += data.len();
                let m = sync::Message::decode(&data).expect("a sync message");
                local
                    .sync()
                    .receive_sync_message(&mut state, m)
                    .expect("the relay's changes apply");
                if let Some(reply) = local.sync().generate_sync_message(&mut state) {
                    device
                        .send(&sync_message(doc, "fresh-device", reply.encode()))
                        .await;
                }
            }
            Next::Message(_) => {}
            other => panic!("fresh device: {other:?}"),
        }
    }
    FirstSync {
        handshake,
        sync: t.elapsed(),
        messages,
        bytes_down,
        doc: local,
    }
}
