//! (c) Frame bytes of a reconnect: the client's `DocSync` and the relay's `RelayRoom` wired
//! together in memory, every frame counted both ways until nothing more is sent.
//!
//! Storage on both sides succeeds at once (the relay's in `BenchStorage`) and quota is always
//! granted: only the wire is measured. Sizes are WebSocket payloads (frame headers, 2–10 bytes each, are left out).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use sync_core::client::{
    ClientConfig, ClientInput, ClientOutput, ClientStorageOp, DocSync, StorageReply, StoredDoc,
};
use sync_core::io::ConnId;
use sync_core::protocol::{DocumentId, PeerId, StorageId};
use sync_core::relay::{PeerAccess, RelayRoom, RoomInput, RoomOutput};

use crate::storage::BenchStorage;

const NOW: u64 = 1_000_000;

/// What one session put on the wire.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Wire {
    /// Frames and bytes client → relay.
    pub(crate) up: (usize, usize),
    /// Frames and bytes relay → client.
    pub(crate) down: (usize, usize),
}

impl Wire {
    pub(crate) fn bytes(&self) -> usize {
        self.up.1 + self.down.1
    }

    pub(crate) fn frames(&self) -> usize {
        self.up.0 + self.down.0
    }
}

/// The outcome of one session: its wire use, the sync state the client persisted, and the
/// time of the exchange alone (from going online until both sides fell silent; the client's
/// load of the document before it is not counted, since a device that reconnects has its
/// document open already).
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) wire: Wire,
    pub(crate) saved_sync: BTreeMap<StorageId, Vec<u8>>,
    pub(crate) exchange: Duration,
}

/// Connects a client holding `doc_bytes` (and `saved_sync`, its persisted sync states) to
/// `room`, runs until both sides fall silent, and asserts the client ends in sync.
pub(crate) fn session(
    room: &mut RelayRoom,
    storage: &mut BenchStorage,
    conn: ConnId,
    doc_id: DocumentId,
    doc_bytes: &[u8],
    saved_sync: BTreeMap<StorageId, Vec<u8>>,
) -> Session {
    let config = ClientConfig::new(
        PeerId::from("bench-client"),
        StorageId::from("bench-client"),
    );
    let stored = StoredDoc {
        bytes: doc_bytes.to_vec(),
        chunks: 1,
        sync_states: saved_sync.clone(),
    };
    let (mut client, _) = DocSync::loaded(config, doc_id, stored, [9; 16]);
    let start = Instant::now();
    let mut saved = saved_sync;
    let mut wire = Wire::default();
    let mut to_client: VecDeque<ClientInput> = VecDeque::from([ClientInput::GoOnline]);
    let mut to_room: VecDeque<RoomInput> = VecDeque::new();
    while !to_client.is_empty() || !to_room.is_empty() {
        while let Some(input) = to_client.pop_front() {
            for out in client.handle(NOW, input) {
                match out {
                    ClientOutput::Connect { .. } => {
                        to_room.push_back(RoomInput::Connected {
                            conn,
                            access: PeerAccess {
                                subject: "bench".into(),
                                tenant: "bench".into(),
                                can_write: true,
                                expires_at_ms: u64::MAX,
                                plan: sync_core::relay::PlanLimits::default(),
                            },
                        });
                        to_client.push_back(ClientInput::TransportOpened);
                    }
                    ClientOutput::Send(bytes) => {
                        wire.up.0 += 1;
                        wire.up.1 += bytes.len();
                        to_room.push_back(RoomInput::Frame { conn, bytes });
                    }
                    ClientOutput::Storage { task, op } => {
                        if let ClientStorageOp::PutSyncState { peer, bytes, .. } = op {
                            saved.insert(peer, bytes);
                        }
                        to_client.push_back(ClientInput::StorageDone {
                            task,
                            outcome: Ok(StorageReply::Done),
                        });
                    }
                    ClientOutput::Disconnect
                    | ClientOutput::SetTimer { .. }
                    | ClientOutput::TokenNeeded { .. }
                    | ClientOutput::Status(_)
                    | ClientOutput::Event(_) => {}
                }
            }
        }
        while let Some(input) = to_room.pop_front() {
            for out in room.handle(NOW, input) {
                match out {
                    RoomOutput::Send { conn: c, bytes } if c == conn => {
                        wire.down.0 += 1;
                        wire.down.1 += bytes.len();
                        to_client.push_back(ClientInput::Frame(bytes));
                    }
                    RoomOutput::Storage { task, op } => to_room.push_back(storage.run(task, op)),
                    RoomOutput::ReserveQuota { bytes, .. } => {
                        to_room.push_back(RoomInput::Quota(Ok(bytes)));
                    }
                    RoomOutput::Close { code, reason, .. } => {
                        panic!("the room closed the bench client: {code} {reason}")
                    }
                    _ => {}
                }
            }
        }
    }
    let exchange = start.elapsed();
    assert!(client.is_in_sync(), "the client never got in sync");
    // Disconnecting persists the sync state, as the native client does on every disconnect.
    for out in client.handle(NOW, ClientInput::GoOffline) {
        if let ClientOutput::Storage {
            op: ClientStorageOp::PutSyncState { peer, bytes, .. },
            ..
        } = out
        {
            saved.insert(peer, bytes);
        }
    }
    room.handle(NOW, RoomInput::Disconnected { conn });
    Session {
        wire,
        saved_sync: saved,
        exchange,
    }
}
