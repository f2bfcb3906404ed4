//! Acks: who gets one, and when.
//!
//! An `ack` tells a Tessera client that the relay durably holds the document up to the heads it
//! carries; the client reports "in sync" when those are its own heads. Stock automerge-repo peers
//! drop acks, and under load the acks cost the room about as much as the sync messages, so:
//!
//! - only peers that declared they read acks (`tesseraAcks` in `join`) get them, unless
//!   [`RoomConfig::ack_undeclared_peers`] says everyone does;
//! - a peer is never told the same durable heads twice on one connection;
//! - a peer with changes of its own still waiting to be stored is not acked: one ack follows
//!   the write that stores the last of them, however many of its messages that write covers;
//! - otherwise a peer is acked when the ack makes it in sync: the heads its last sync message
//!   reported are exactly the durable heads. This is checked after each of its messages and
//!   after each durable write (a reader holding a change forwarded before it was durable learns
//!   that it is durable when the write ends, without sending anything).
//!
//! What this keeps: every reading peer whose heads the room durably holds, and that said so,
//! gets one ack with exactly those heads, so a quiet network ends with every Tessera client in
//! sync (the simulator checks it), and every write that stores a peer's changes is followed by
//! an ack to it.

use super::*;

impl RelayRoom {
    /// Acks `conn` if it is due one (see the module doc). `own` says the last of its changes
    /// just became durable: then it is acked whatever heads it last reported.
    pub(super) fn ack_if_due(&mut self, conn: ConnId, own: bool) {
        let Some(peer) = self.peers.get(&conn) else {
            return;
        };
        let reads =
            self.config.ack_undeclared_peers || peer.remote.as_ref().is_some_and(|r| r.reads_acks);
        if !reads || peer.unpersisted > 0 || peer.acked_durable == Some(self.durable) {
            return;
        }
        if own || self.holds_durable_heads(conn) {
            self.ack(conn);
        }
    }

    /// After a durable write: `senders` had the last of their changes stored; every other peer
    /// is acked if its heads are now the durable heads.
    pub(super) fn ack_after_write(&mut self, senders: &[ConnId]) {
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in conns {
            self.ack_if_due(conn, senders.contains(&conn));
        }
    }

    /// Whether the heads `conn` last reported are exactly the durable heads.
    fn holds_durable_heads(&self, conn: ConnId) -> bool {
        let Some(peer) = self.peers.get(&conn) else {
            return false;
        };
        let theirs = peer.sync.their_heads();
        // Heads are distinct, so as many of them, each durable heads, is the same set.
        !theirs.is_empty()
            && theirs.len() == self.durable_heads.len()
            && theirs.iter().all(|h| {
                self.graph
                    .index_of(h)
                    .is_some_and(|i| self.durable_heads.contains(&i))
            })
    }

    /// Sends `conn` the durable heads and remembers that it was told them.
    pub(super) fn ack(&mut self, conn: ConnId) {
        let heads = self.durable_heads();
        let target = self.remote_id(conn);
        let msg = Message::Ack {
            sender_id: self.config.relay_peer_id.clone(),
            target_id: target,
            document_id: self.doc_id,
            heads: heads_to_hex(&heads),
        };
        self.send(conn, msg);
        if let Some(peer) = self.peers.get_mut(&conn) {
            peer.acked_durable = Some(self.durable);
        }
    }
}
