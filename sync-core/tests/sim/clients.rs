//! The simulated devices: their edits, going offline, crashing, and the network side of their
//! connection actions. Each device runs the core's generic loop (`sync_core::testing::Device`).

use rand::RngExt;
use sync_core::client::{ClientConfig, ClientInput, ClientOutput, DocSync};
use sync_core::io::ConnId;
use sync_core::model::{BlockId, BlockKind, MarkName, Target};
use sync_core::protocol::{PeerId, StorageId};
use sync_core::relay::{PeerAccess, RoomInput};
use sync_core::testing::{Device, LinkAction};

use super::{Frame, HOUR_MS, Sim};

impl Sim {
    pub(super) fn random_edit(&mut self, c: usize) {
        let bits = self.next_block_bits;
        self.next_block_bits = self.next_block_bits.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let choice = self.rng.random_range(0..100);
        let r1: u64 = self.rng.random();
        let r2: u64 = self.rng.random();
        let r3: u64 = self.rng.random();
        let now = self.now;
        let result = self.clients[c].device.sync.edit(now, |page| {
            let live: Vec<BlockId> = page.live_block_ids().into_iter().collect();
            let pick = |r: u64| live.get((r % live.len().max(1) as u64) as usize).cloned();
            if live.len() < 3 || choice < 20 {
                let kinds = [
                    BlockKind::Paragraph,
                    BlockKind::Heading { level: 2 },
                    BlockKind::Todo {
                        checked: r2.is_multiple_of(2),
                    },
                    BlockKind::Code {
                        language: Some("rust".into()),
                    },
                    BlockKind::Quote,
                ];
                let kind = &kinds[(r1 % kinds.len() as u64) as usize];
                let target = match (pick(r2), r3 % 3) {
                    (Some(p), 0) => Target::End { parent: Some(p) },
                    (Some(a), 1) => Target::After(a),
                    _ => Target::Start { parent: None },
                };
                return page
                    .add_block(bits, kind, "hello world", &target)
                    .map(|_| ());
            }
            let block = pick(r1).expect("live blocks exist");
            let len = page.text(&block)?.chars().count();
            match choice {
                20..=49 => {
                    let pos = (r2 as usize) % (len + 1);
                    let text = ["a", "é", "😀", " word", "\n"][(r3 % 5) as usize];
                    page.insert_text(&block, pos, text)
                }
                50..=59 if len > 0 => {
                    let pos = (r2 as usize) % len;
                    let n = 1 + (r3 as usize) % (len - pos).min(4);
                    page.delete_text(&block, pos, n)
                }
                60..=69 if len > 1 => {
                    let start = (r2 as usize) % (len - 1);
                    let end = start + 1 + (r3 as usize) % (len - start);
                    let end = end.min(len);
                    match r3 % 4 {
                        0 => page.unmark(&block, start, end, MarkName::Bold),
                        1 => page.mark(&block, start, end, &"link=https://t.test".parse().unwrap()),
                        2 => page.mark(&block, start, end, &"color=red".parse().unwrap()),
                        _ => page.mark(&block, start, end, &"bold".parse().unwrap()),
                    }
                }
                70..=89 => {
                    // Moves, including ones that would form cycles with concurrent moves.
                    let target = match (pick(r2), r3 % 4) {
                        (Some(p), 0 | 1) => Target::End { parent: Some(p) },
                        (Some(a), 2) => Target::After(a),
                        _ => Target::End { parent: None },
                    };
                    page.move_block(&block, &target)
                }
                _ => page.delete_block(&block),
            }
        });
        match result {
            Ok(((), outs)) => {
                self.stats.edits += 1;
                self.client_carry(c, outs);
            }
            Err(_) => self.stats.refused_edits += 1,
        }
    }

    pub(super) fn toggle_online(&mut self) {
        let c = self.rng.random_range(0..self.clients.len());
        let online = !self.clients[c].wants_online;
        self.clients[c].wants_online = online;
        let input = if online {
            ClientInput::GoOnline
        } else {
            ClientInput::GoOffline
        };
        self.client_input(c, input);
    }

    /// Kills a client: only what its storage holds survives.
    pub(super) fn crash_client(&mut self, c: usize) {
        self.stats.client_crashes += 1;
        if let Some(conn) = self.clients[c].conn {
            self.break_conn(conn);
        }
        // A new process writes as a new actor: edits that reached the relay but not the disk
        // would otherwise be written again with the same sequence numbers.
        let actor: [u8; 16] = self.rng.random();
        self.clients[c].actor = actor;
        // Only the store survives the crash.
        let store = std::mem::take(&mut self.clients[c].device.store);
        let mut actions = Vec::new();
        let session = DocSync::open(client_config(c), self.doc_id, actor);
        self.clients[c].device = Device::new(self.now, session, store, &mut actions);
        self.client_actions(c, actions);
        if self.clients[c].wants_online {
            self.client_input(c, ClientInput::GoOnline);
        }
    }

    /// Feeds an input to client `c` through the core's generic loop and carries out the
    /// connection actions that follow.
    pub(super) fn client_input(&mut self, c: usize, input: ClientInput) {
        let mut actions = Vec::new();
        self.clients[c].device.handle(self.now, input, &mut actions);
        self.client_actions(c, actions);
    }

    /// Carries out a session's outputs (from an edit) through the generic loop.
    pub(super) fn client_carry(&mut self, c: usize, outs: Vec<ClientOutput>) {
        let mut actions = Vec::new();
        self.clients[c]
            .device
            .carry_out(self.now, outs, &mut actions);
        self.client_actions(c, actions);
    }

    /// The network's side of a client's connection actions.
    pub(super) fn client_actions(&mut self, c: usize, actions: Vec<LinkAction>) {
        for action in actions {
            if std::env::var_os("TESSERA_SIM_TRACE").is_some() {
                match &action {
                    LinkAction::Send(b) => eprintln!(
                        "{} c{c} send {:?}",
                        self.now,
                        sync_core::protocol::Message::decode(b).map(|m| m.type_name().to_owned())
                    ),
                    other => eprintln!("{} c{c} {other:?}", self.now),
                }
            }
            match action {
                LinkAction::Connect { .. } => {
                    let conn = ConnId(self.next_conn);
                    self.next_conn += 1;
                    self.conn_owner.insert(conn, c);
                    self.clients[c].conn = Some(conn);
                    let access = PeerAccess {
                        subject: format!("user-{c}"),
                        tenant: "t".into(),
                        can_write: true,
                        expires_at_ms: self.now + 100 * HOUR_MS,
                        plan: sync_core::relay::PlanLimits::default(),
                    };
                    let outs = self
                        .relay
                        .handle(self.now, RoomInput::Connected { conn, access });
                    self.relay_outputs(outs);
                    self.client_input(c, ClientInput::TransportOpened);
                }
                LinkAction::Disconnect => {
                    if let Some(conn) = self.clients[c].conn.take() {
                        self.conn_owner.remove(&conn);
                        self.net.retain(|f| f.conn != conn);
                        let outs = self
                            .relay
                            .handle(self.now, RoomInput::Disconnected { conn });
                        self.relay_outputs(outs);
                    }
                }
                LinkAction::Send(bytes) => {
                    if let Some(conn) = self.clients[c].conn {
                        let deliver_at = self.now + self.latency();
                        self.net.push(Frame {
                            deliver_at,
                            conn,
                            to_relay: true,
                            bytes,
                        });
                    }
                }
            }
        }
    }
}

pub(super) fn client_config(i: usize) -> ClientConfig {
    let mut cfg = ClientConfig::new(
        PeerId::from(format!("client-{i}").as_str()),
        StorageId::from(format!("store-{i}").as_str()),
    );
    cfg.max_frame_bytes = 4 * 1024;
    cfg.backoff_base_ms = 20;
    cfg.backoff_max_ms = 2_000;
    cfg.compact_after_saves = 16;
    cfg
}
