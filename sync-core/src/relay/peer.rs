//! One connection's state inside a room, and its hibernation attachment.

use serde::{Deserialize, Serialize};

use super::config::RoomConfig;
use super::graph::{Outgoing, PeerSync};
use super::io::PeerAccess;
use super::rate::{FrameRates, TokenBucket};
use crate::protocol::{PeerId, Reassembler};

/// Who is on the other end, once it has sent `join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Remote {
    pub(crate) peer_id: String,
    pub(crate) storage_id: Option<String>,
    /// It declared that it reads acks. Absent from attachments written before the declaration
    /// existed: those peers were acked then, so they still are.
    #[serde(default = "reads_acks_before_declarations")]
    pub(crate) reads_acks: bool,
}

fn reads_acks_before_declarations() -> bool {
    true
}

impl Remote {
    pub(crate) fn peer_id(&self) -> PeerId {
        PeerId::from(self.peer_id.as_str())
    }
}

/// A connection's state.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) access: PeerAccess,
    pub(crate) remote: Option<Remote>,
    /// Set once the peer asked for this document; only then is it sent sync messages.
    pub(crate) syncing: bool,
    pub(crate) sync: PeerSync,
    /// Changes from this peer not yet durable (waiting, queued or being written); it is acked
    /// when this drops to zero.
    pub(crate) unpersisted: usize,
    /// The room's durable count (`RelayRoom::durable`) when this connection was last acked:
    /// the durable heads it was told, since a durable prefix of the graph has one set of heads.
    pub(crate) acked_durable: Option<u32>,
    /// What this connection may still send and has half sent; made at its first frame, from the
    /// room's config and the token's plan. Not in the attachment: after hibernation a
    /// connection starts with full buckets and no partial messages (their fragments are lost
    /// with the isolate anyway).
    pub(crate) inbound: Option<Inbound>,
    pub(crate) next_fragment_id: u64,
    /// When the attachment was last written, and whether the sync state changed since.
    pub(crate) attached_at: Option<u64>,
    pub(crate) attach_due: bool,
    /// A message decided for this peer whose changes are being read back from storage: it
    /// goes out (before anything newer) once they are in memory.
    pub(crate) unsent: Option<Outgoing>,
}

/// The bounded state of what a connection sends.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) reassembler: Reassembler,
    /// The plan's per-connection messages and bytes per second.
    pub(crate) rates: FrameRates,
    pub(crate) ephemeral: TokenBucket,
}

impl Inbound {
    fn new(access: &PeerAccess, config: &RoomConfig) -> Self {
        let plan = &access.plan;
        Self {
            reassembler: Reassembler::new(config.reassembly),
            rates: FrameRates::new(
                u64::from(plan.peer_messages_per_sec),
                plan.peer_bytes_per_sec,
            ),
            ephemeral: TokenBucket::new(config.ephemeral_per_sec, config.ephemeral_burst),
        }
    }
}

/// What survives hibernation: enough to resume without a new handshake.
#[derive(Debug, Serialize, Deserialize)]
struct Attachment {
    access: PeerAccess,
    remote: Option<Remote>,
    syncing: bool,
    /// automerge's `sync::State::encode()`: the shared heads.
    sync: Vec<u8>,
}

impl Peer {
    pub(crate) fn new(access: PeerAccess) -> Self {
        Self {
            access,
            remote: None,
            syncing: false,
            sync: PeerSync::default(),
            unpersisted: 0,
            acked_durable: None,
            inbound: None,
            next_fragment_id: 0,
            attached_at: None,
            attach_due: false,
            unsent: None,
        }
    }

    pub(crate) fn inbound(&mut self, config: &RoomConfig) -> &mut Inbound {
        self.inbound
            .get_or_insert_with(|| Inbound::new(&self.access, config))
    }

    /// Fragment bytes this connection has buffered.
    pub(crate) fn buffered_fragment_bytes(&self) -> usize {
        self.inbound
            .as_ref()
            .map_or(0, |i| i.reassembler.buffered_bytes())
    }

    pub(crate) fn attachment(&self) -> Vec<u8> {
        let a = Attachment {
            access: self.access.clone(),
            remote: self.remote.clone(),
            syncing: self.syncing,
            sync: self.sync.encode(),
        };
        serde_json::to_vec(&a).expect("attachments always serialize")
    }

    /// Rebuilds a peer from its attachment; `None` if the bytes are not one of ours.
    pub(crate) fn from_attachment(bytes: &[u8]) -> Option<Self> {
        let a: Attachment = serde_json::from_slice(bytes).ok()?;
        let mut peer = Self::new(a.access);
        peer.remote = a.remote;
        peer.syncing = a.syncing;
        peer.sync = PeerSync::decode(&a.sync);
        Some(peer)
    }
}
