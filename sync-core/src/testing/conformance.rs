//! The storage conformance suite: what every client store must do, as data. A synchronous
//! store runs it with [`run_sync`]; an asynchronous one (IndexedDB, SQLite in a browser
//! worker) loops over [`cases`] itself and checks each answer with [`Expect::check`].

use std::collections::BTreeMap;

use super::ClientStore;
use crate::client::{ClientStorageOp, StorageReply, StoredDoc};
use crate::protocol::{DocumentId, StorageId};

/// One named scenario, run on a fresh, empty store.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it checks.
    pub name: &'static str,
    /// In order.
    pub steps: Vec<Step>,
}

/// One step of a case.
#[derive(Debug, Clone)]
pub enum Step {
    /// Run the op; its answer must meet the expectation.
    Run(ClientStorageOp, Expect),
    /// Close the store and open it again on the same data (a restart): what was written must
    /// still be there.
    Reopen,
}

/// What a store must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A write succeeded.
    Done,
    /// A load returned exactly this.
    Loaded(StoredDoc),
    /// A listing returned exactly these documents, in this order.
    Listed(Vec<DocumentId>),
}

impl Expect {
    /// Whether a store's answer meets the expectation; `Err` says how it does not.
    pub fn check(&self, answer: &Result<StorageReply, String>) -> Result<(), String> {
        let ok = matches!((self, answer), (Self::Done, Ok(StorageReply::Done)))
            || matches!((self, answer), (Self::Loaded(want), Ok(StorageReply::Loaded(got))) if want == got)
            || matches!((self, answer), (Self::Listed(want), Ok(StorageReply::Listed(got))) if want == got);
        if ok {
            Ok(())
        } else {
            Err(format!("expected {self:?}, got {answer:?}"))
        }
    }
}

fn doc(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

fn append(d: DocumentId, bytes: &[u8]) -> Step {
    Step::Run(
        ClientStorageOp::AppendChanges {
            doc: d,
            bytes: bytes.to_vec(),
        },
        Expect::Done,
    )
}

fn snapshot(d: DocumentId, bytes: &[u8]) -> Step {
    Step::Run(
        ClientStorageOp::ReplaceWithSnapshot {
            doc: d,
            bytes: bytes.to_vec(),
        },
        Expect::Done,
    )
}

fn put_sync(d: DocumentId, peer: &str, bytes: &[u8]) -> Step {
    Step::Run(
        ClientStorageOp::PutSyncState {
            doc: d,
            peer: StorageId::from(peer),
            bytes: bytes.to_vec(),
        },
        Expect::Done,
    )
}

fn load(d: DocumentId, bytes: &[u8], chunks: u32, sync: &[(&str, &[u8])]) -> Step {
    Step::Run(
        ClientStorageOp::Load { doc: d },
        Expect::Loaded(StoredDoc {
            bytes: bytes.to_vec(),
            chunks,
            sync_states: sync
                .iter()
                .map(|(p, b)| (StorageId::from(*p), b.to_vec()))
                .collect::<BTreeMap<_, _>>(),
        }),
    )
}

fn list(docs: &[DocumentId]) -> Step {
    Step::Run(ClientStorageOp::List, Expect::Listed(docs.to_vec()))
}

/// Every case. Byte strings stand for Automerge chunks: a store never interprets them.
pub fn cases() -> Vec<Case> {
    let (a, b, c) = (doc(1), doc(2), doc(3));
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    vec![
        Case {
            name: "an unknown document loads as empty and is not listed",
            steps: vec![load(a, b"", 0, &[]), list(&[])],
        },
        Case {
            name: "appended chunks load concatenated in write order",
            steps: vec![
                append(a, b"one"),
                append(a, b"two"),
                append(a, b"three"),
                load(a, b"onetwothree", 3, &[]),
            ],
        },
        Case {
            name: "a snapshot replaces every earlier chunk",
            steps: vec![
                append(a, b"one"),
                append(a, b"two"),
                snapshot(a, b"S"),
                append(a, b"after"),
                load(a, b"Safter", 2, &[]),
            ],
        },
        Case {
            name: "sync states are replaced per relay and kept apart",
            steps: vec![
                append(a, b"x"),
                put_sync(a, "relay-1", b"old"),
                put_sync(a, "relay-2", b"other"),
                put_sync(a, "relay-1", b"new"),
                load(a, b"x", 1, &[("relay-1", b"new"), ("relay-2", b"other")]),
            ],
        },
        Case {
            name: "a sync state alone records a document still to be fetched",
            steps: vec![
                put_sync(c, "relay", b"s"),
                load(c, b"", 0, &[("relay", b"s")]),
                list(&[c]),
            ],
        },
        Case {
            name: "documents are kept apart and listed oldest first",
            steps: vec![
                append(b, b"b1"),
                snapshot(a, b"a1"),
                append(c, b"c1"),
                append(b, b"b2"),
                load(a, b"a1", 1, &[]),
                load(b, b"b1b2", 2, &[]),
                list(&[b, a, c]),
            ],
        },
        Case {
            name: "everything written survives a reopen",
            steps: vec![
                snapshot(a, b"S"),
                append(a, b"+1"),
                put_sync(a, "relay", b"state"),
                append(b, b"B"),
                Step::Reopen,
                load(a, b"S+1", 2, &[("relay", b"state")]),
                list(&[a, b]),
                append(a, b"+2"),
                Step::Reopen,
                load(a, b"S+1+2", 3, &[("relay", b"state")]),
            ],
        },
        Case {
            name: "large chunks round-trip unchanged",
            steps: vec![
                snapshot(a, &big),
                append(a, b"tail"),
                load(a, &[big.as_slice(), b"tail"].concat(), 2, &[]),
            ],
        },
    ]
}

/// Runs every case against a synchronous store: `fresh` opens a new empty store, `reopen`
/// closes one and opens it again on the same data. The first failure names its case and step.
pub fn run_sync<S: ClientStore>(
    mut fresh: impl FnMut() -> S,
    mut reopen: impl FnMut(S) -> S,
) -> Result<(), String> {
    for case in cases() {
        let mut store = fresh();
        for (i, step) in case.steps.into_iter().enumerate() {
            match step {
                Step::Reopen => store = reopen(store),
                Step::Run(op, expect) => {
                    let answer = store.run(&op);
                    expect
                        .check(&answer)
                        .map_err(|e| format!("{}: step {i} ({op:?}): {e}", case.name))?;
                }
            }
        }
    }
    Ok(())
}
