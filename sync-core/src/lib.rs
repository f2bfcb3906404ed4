//! Tessera's core: every decision of the sync engine, and no IO.
//!
//! It owns:
//! - [`model`]: the Notion-style page (a tree of rich-text blocks) on one Automerge document,
//!   with the move, cycle and delete rules, and the stable JSON rendering every client prints;
//! - [`protocol`]: the automerge-repo WebSocket protocol v1 plus Tessera's extensions (typed
//!   errors, `ack`, fragments), document ids and URLs;
//! - [`client`]: the client session state machine for one document (handshake, sync, back-off,
//!   durability of local edits, cheap reconnects);
//! - [`relay`]: the relay room state machine for one document (peers, persist before ack,
//!   batching, compaction, authorization, quota accounting);
//! - [`auth`]: JWT verification (HS256, RS256/ES256 against a JWKS).
//!
//! It must never depend on a runtime, socket, database, clock, OS randomness or binding crate,
//! and it builds for `wasm32-unknown-unknown`. The state machines take inputs plus `now` and
//! return plain data (frames to send, storage tasks, timers, events); the shells
//! (`relay-worker`, `client-native`, `client-wasm`) carry those to real IO and report back.
//! Randomness (actor ids, block ids, back-off jitter seeds) comes in from the caller.
//!
//! # Which automerge
//! This crate uses **automerge 0.12.0**. Measured on the automerge-paper trace (259,778
//! single-character edits, one change each) on the project's 2-core machine, with
//! `cargo run --release -p automerge-versions` (figures in `bench/automerge-versions/README.md`):
//!
//! | | 0.6.1 | 0.12.0 |
//! |---|---|---|
//! | heap held by the loaded document | 312 MiB | 39 MiB |
//! | peak heap during `load()` | 367 MiB | 235 MiB |
//! | `load()` time | 4.6 s | 1.4 s |
//! | apply 1 remote change (one `apply_changes` call) | 21 µs | 113 ms |
//! | apply 1,000 changes in one call, per change | 29 µs | 184 µs |
//! | `receive_sync_message` carrying 1 change | 18.7 ms | 167 ms |
//!
//! 0.6.1 cannot hold this document in a 128 MB isolate at all, so it is out, whatever its speed.
//! 0.12.0 holds it in 39 MiB but makes every *call* that applies changes cost time proportional
//! to the document. The relay room is therefore designed never to apply changes one at a time:
//! it takes each sync message's heads at once but queues the changes, writes everything queued as
//! one log row, and applies the whole row with one `load_incremental` after the write is durable
//! (see [`relay`]). Under load each write carries more changes, so the per-call cost is shared.
//! What 0.12.0 still costs is the peak of a full `load()` of a very long history; compaction keeps
//! snapshots small in bytes but not in history, which is the relay issue's problem to measure.

pub mod auth;
pub mod client;
mod framing;
pub mod io;
pub mod model;
pub mod protocol;
pub mod relay;
#[cfg(feature = "testing")]
pub mod testing;
