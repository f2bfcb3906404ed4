//! A seeded, deterministic network of client sessions and one relay room.
//!
//! Everything is driven by one RNG seed: edits, latency, dropped connections (a WebSocket loses
//! frames only by breaking, so a drop breaks the connection and loses what was in flight),
//! duplicated and reordered frames, failing storage writes, relay restarts from storage in the
//! middle of a sync, and client crashes. After the chaotic phase the network heals and the
//! simulation runs until it is quiet; then every replica must show the same page.

mod clients;
pub(crate) mod storage;

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sync_core::client::{ClientInput, ClientStorageOp, DocSync, StorageReply};
use sync_core::io::{ConnId, TaskId};
use sync_core::model::Page;
use sync_core::protocol::DocumentId;
use sync_core::relay::{RelayRoom, RoomConfig, RoomInput, RoomOutput};

use clients::client_config;
use storage::{FaultyStore, RelayStore};
use sync_core::testing::{ClientStore, Device};

/// Knobs of one scenario.
#[derive(Debug, Clone)]
pub(crate) struct Faults {
    pub(crate) drop_per_mille: u32,
    pub(crate) duplicate_per_mille: u32,
    pub(crate) reorder_per_mille: u32,
    pub(crate) storage_fail_per_mille: u32,
    pub(crate) relay_restart_per_mille: u32,
    pub(crate) client_crash_per_mille: u32,
    pub(crate) offline_toggle_per_mille: u32,
}

impl Faults {
    pub(crate) fn chaotic() -> Self {
        Self {
            drop_per_mille: 15,
            duplicate_per_mille: 10,
            reorder_per_mille: 10,
            storage_fail_per_mille: 40,
            relay_restart_per_mille: 8,
            client_crash_per_mille: 5,
            offline_toggle_per_mille: 30,
        }
    }
}

#[derive(Debug)]
struct Frame {
    deliver_at: u64,
    conn: ConnId,
    to_relay: bool,
    bytes: Vec<u8>,
}

struct Client {
    /// The session, its store and timer, run by the core's generic loop.
    device: Device<FaultyStore>,
    conn: Option<ConnId>,
    wants_online: bool,
    actor: [u8; 16],
}

pub(crate) struct Sim {
    rng: StdRng,
    now: u64,
    faults: Faults,
    doc_id: DocumentId,
    relay: RelayRoom,
    relay_store: RelayStore,
    relay_timer: Option<u64>,
    /// Relay storage tasks in flight: they finish after a delay, or never if the relay dies.
    relay_tasks: Vec<(u64, TaskId, bool)>,
    clients: Vec<Client>,
    conn_owner: BTreeMap<ConnId, usize>,
    next_conn: u64,
    net: Vec<Frame>,
    next_block_bits: u64,
    pub(crate) stats: Stats,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    pub(crate) edits: u64,
    pub(crate) refused_edits: u64,
    pub(crate) relay_restarts: u64,
    pub(crate) client_crashes: u64,
    pub(crate) drops: u64,
    pub(crate) frames: u64,
}

impl Stats {
    pub(crate) fn add(&mut self, other: &Self) {
        self.edits += other.edits;
        self.refused_edits += other.refused_edits;
        self.relay_restarts += other.relay_restarts;
        self.client_crashes += other.client_crashes;
        self.drops += other.drops;
        self.frames += other.frames;
    }
}

const HOUR_MS: u64 = 3_600_000;

impl Sim {
    pub(crate) fn new(seed: u64, n_clients: usize, faults: Faults) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let doc_id = DocumentId::from_random_bytes(rng.random());
        let relay_store = RelayStore::default();
        let (relay, outs) = RelayRoom::new(room_config(), doc_id);
        let mut sim = Self {
            rng,
            now: 1_000_000,
            faults,
            doc_id,
            relay,
            relay_store,
            relay_timer: None,
            relay_tasks: Vec::new(),
            clients: Vec::new(),
            conn_owner: BTreeMap::new(),
            next_conn: 1,
            net: Vec::new(),
            next_block_bits: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            stats: Stats::default(),
        };
        sim.relay_outputs(outs);
        for i in 0..n_clients {
            let actor: [u8; 16] = sim.rng.random();
            // Client 0 creates the page; the others load an empty store and fetch it.
            let session = if i == 0 {
                DocSync::create(client_config(i), doc_id, "Simulated page", actor)
            } else {
                DocSync::open(client_config(i), doc_id, actor)
            };
            // The page is created durably (an app whose `create` failed would retry it); the
            // storage faults start after.
            let store = FaultyStore::new(sim.rng.random(), 0);
            let mut actions = Vec::new();
            let mut device = Device::new(sim.now, session, store, &mut actions);
            device.store.fail_per_mille = sim.faults.storage_fail_per_mille;
            sim.clients.push(Client {
                device,
                conn: None,
                wants_online: true,
                actor,
            });
            sim.client_actions(i, actions);
            sim.client_input(i, ClientInput::GoOnline);
        }
        sim
    }

    fn roll(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && self.rng.random_range(0..1000) < per_mille
    }

    /// The chaotic phase: `steps` random actions.
    pub(crate) fn run_chaos(&mut self, steps: usize) {
        for _ in 0..steps {
            self.now += self.rng.random_range(0..40);
            match self.rng.random_range(0..100) {
                0..=29 => {
                    let c = self.rng.random_range(0..self.clients.len());
                    self.random_edit(c);
                }
                30..=79 => self.deliver_one(true),
                80..=89 => self.fire_timers(),
                90..=94 => self.finish_relay_task(true),
                _ => {
                    if self.roll(self.faults.offline_toggle_per_mille * 10) {
                        self.toggle_online();
                    }
                }
            }
            if self.roll(self.faults.relay_restart_per_mille) {
                self.restart_relay();
            }
            if self.roll(self.faults.client_crash_per_mille) {
                let c = self.rng.random_range(0..self.clients.len());
                self.crash_client(c);
            }
        }
    }

    /// Heals the network and runs until nothing is left to do; panics if that never happens.
    pub(crate) fn run_until_quiet(&mut self) {
        self.faults = Faults {
            drop_per_mille: 0,
            duplicate_per_mille: 0,
            reorder_per_mille: 0,
            storage_fail_per_mille: 0,
            relay_restart_per_mille: 0,
            client_crash_per_mille: 0,
            offline_toggle_per_mille: 0,
        };
        for c in 0..self.clients.len() {
            self.clients[c].device.store.fail_per_mille = 0;
            self.clients[c].wants_online = true;
            self.client_input(c, ClientInput::GoOnline);
        }
        for _ in 0..200_000 {
            self.fire_timers();
            if !self.net.is_empty() {
                self.deliver_one(false);
                continue;
            }
            if !self.relay_tasks.is_empty() {
                self.finish_relay_task(false);
                continue;
            }
            let all_in_sync = self
                .clients
                .iter_mut()
                .all(|c| c.device.in_sync() && c.device.sync.is_in_sync());
            if all_in_sync && !self.relay.has_unpersisted() && !self.relay.has_held_changes() {
                return;
            }
            // Nothing in flight: let time pass to the next timer.
            let next = self
                .clients
                .iter()
                .filter_map(|c| c.device.timer)
                .chain(self.relay_timer)
                .min()
                // Token expiry is far away; jumping there is not "waiting for a timer".
                .filter(|t| *t < self.now + HOUR_MS);
            match next {
                Some(t) => {
                    self.now = self.now.max(t);
                    self.fire_timers();
                }
                None => panic!(
                    "stuck: nothing in flight, no timers, not in sync\n{}",
                    self.describe()
                ),
            }
        }
        panic!("did not quiesce\n{}", self.describe());
    }

    fn describe(&mut self) -> String {
        let mut s = String::new();
        for (i, c) in self.clients.iter_mut().enumerate() {
            let heads = c.device.sync.heads();
            s.push_str(&format!(
                "client {i}: in_sync={} stopped={:?} heads={heads:?}\n",
                c.device.in_sync(),
                c.device.sync.stopped(),
            ));
        }
        let relay_heads = self.relay.heads();
        s.push_str(&format!("relay heads={relay_heads:?}\n"));
        for (i, c) in self.clients.iter_mut().enumerate() {
            let mut page = c.device.sync.page().clone();
            let doc = page.doc_mut();
            let heads = doc.get_heads();
            let has_relay: Vec<bool> = relay_heads
                .iter()
                .map(|h| doc.get_change_by_hash(h).is_some())
                .collect();
            let missing = doc.get_missing_deps(&[]);
            let n = doc.get_changes(&[]).len();
            let relay_has: Vec<bool> = heads.iter().map(|h| self.relay.has_change(h)).collect();
            s.push_str(&format!(
                "client {i}: changes={n} has_relay_heads={has_relay:?} missing_deps={missing:?} \
                 relay_has_mine={relay_has:?} conn={:?} timer={:?} now={}\n",
                c.conn, c.device.timer, self.now
            ));
        }
        s.push_str(&format!(
            "net={} relay_tasks={}\n",
            self.net.len(),
            self.relay_tasks.len()
        ));
        s
    }

    /// Asserts convergence and the tree invariants; returns the common JSON.
    pub(crate) fn assert_converged(&mut self) -> String {
        let relay_heads = {
            let mut h = self.relay.durable_heads();
            h.sort();
            h
        };
        let description = self.describe();
        let mut jsons = Vec::new();
        for c in &mut self.clients {
            let heads = c.device.sync.heads();
            assert_eq!(
                heads, relay_heads,
                "client heads differ from the relay's\n{description}"
            );
            jsons.push(c.device.sync.to_json());
            // Every live block is shown exactly once, and nothing else is shown.
            let view = c.device.sync.view();
            let mut shown = Vec::new();
            collect_ids(&view.blocks, &mut shown);
            let unique: BTreeSet<String> = shown.iter().cloned().collect();
            assert_eq!(
                unique.len(),
                shown.len(),
                "a block is shown twice: {shown:?}"
            );
            let live: BTreeSet<String> = c
                .device
                .sync
                .page()
                .live_block_ids()
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(unique, live, "shown blocks differ from live blocks");
        }
        for j in &jsons[1..] {
            assert_eq!(j, &jsons[0], "replicas diverged");
        }
        // A replica rebuilt from each client's storage holds everything it saved.
        for c in &mut self.clients {
            let Ok(StorageReply::Loaded(stored)) = c
                .device
                .store
                .run(&ClientStorageOp::Load { doc: self.doc_id })
            else {
                panic!("the memory store always loads");
            };
            let bytes = stored.bytes;
            let mut reloaded = Page::load(&bytes, c.actor).expect("stored bytes load");
            let mut h = reloaded.doc_mut().get_heads();
            h.sort();
            assert_eq!(h, relay_heads, "a client's storage lost changes");
        }
        jsons.swap_remove(0)
    }

    // ---- actions ------------------------------------------------------------------------

    /// Kills the relay: in-flight storage is lost, connections drop; a new room loads storage.
    fn restart_relay(&mut self) {
        self.stats.relay_restarts += 1;
        self.relay_tasks.clear();
        self.relay_store.forget_unfinished();
        let conns: Vec<ConnId> = self.conn_owner.keys().copied().collect();
        for conn in conns {
            self.break_conn(conn);
        }
        let (relay, outs) = RelayRoom::new(room_config(), self.doc_id);
        self.relay = relay;
        self.relay_timer = None;
        self.relay_outputs(outs);
    }

    /// The transport under `conn` fails: both ends learn of it, frames in flight are lost.
    fn break_conn(&mut self, conn: ConnId) {
        self.net.retain(|f| f.conn != conn);
        if let Some(c) = self.conn_owner.remove(&conn) {
            self.clients[c].conn = None;
            let outs = self
                .relay
                .handle(self.now, RoomInput::Disconnected { conn });
            self.relay_outputs(outs);
            self.client_input(
                c,
                ClientInput::TransportClosed {
                    code: None,
                    reason: String::new(),
                },
            );
        }
    }

    fn deliver_one(&mut self, faults: bool) {
        if self.net.is_empty() {
            return;
        }
        // The earliest frame per connection keeps FIFO order, as a WebSocket does.
        let i = (0..self.net.len())
            .min_by_key(|&i| (self.net[i].deliver_at, i))
            .expect("non-empty");
        if faults
            && self.roll(self.faults.reorder_per_mille)
            && let Some(j) = (i + 1..self.net.len()).find(|&j| self.net[j].conn == self.net[i].conn)
        {
            self.net.swap(i, j);
        }
        let frame = self.net.remove(i);
        self.now = self.now.max(frame.deliver_at);
        if faults && self.roll(self.faults.drop_per_mille) {
            self.stats.drops += 1;
            self.break_conn(frame.conn);
            return;
        }
        let copies = if faults && self.roll(self.faults.duplicate_per_mille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            self.stats.frames += 1;
            self.deliver(&frame);
        }
    }

    fn deliver(&mut self, frame: &Frame) {
        let Some(&c) = self.conn_owner.get(&frame.conn) else {
            return;
        };
        if frame.to_relay {
            let outs = self.relay.handle(
                self.now,
                RoomInput::Frame {
                    conn: frame.conn,
                    bytes: frame.bytes.clone(),
                },
            );
            self.relay_outputs(outs);
        } else {
            self.client_input(c, ClientInput::Frame(frame.bytes.clone()));
        }
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        if self.relay_timer.is_some_and(|t| t <= now) {
            self.relay_timer = None;
            let outs = self.relay.handle(now, RoomInput::Timer);
            self.relay_outputs(outs);
        }
        for c in 0..self.clients.len() {
            let mut actions = Vec::new();
            if self.clients[c].device.tick(now, &mut actions) {
                self.client_actions(c, actions);
            }
        }
    }

    fn finish_relay_task(&mut self, faults: bool) {
        if self.relay_tasks.is_empty() {
            return;
        }
        let (_, task, _) = self.relay_tasks.remove(0);
        let fail = faults && self.roll(self.faults.storage_fail_per_mille);
        let is_read = self.relay_store.is_read(task);
        let input = if fail {
            self.relay_store.fail(task);
            let error = "injected storage failure".to_owned();
            if is_read {
                RoomInput::RowsRead {
                    task: Some(task),
                    outcome: Err(error),
                }
            } else {
                RoomInput::StorageDone {
                    task,
                    outcome: Err(error),
                }
            }
        } else {
            match self.relay_store.commit(task) {
                Some(rows) => RoomInput::RowsRead {
                    task: Some(task),
                    outcome: Ok(rows),
                },
                None => RoomInput::StorageDone {
                    task,
                    outcome: Ok(()),
                },
            }
        };
        if std::env::var_os("TESSERA_SIM_TRACE").is_some() {
            eprintln!("{} relay input {:?}", self.now, input);
        }
        let outs = self.relay.handle(self.now, input);
        self.relay_outputs(outs);
    }

    // ---- carrying outputs ---------------------------------------------------------------

    fn latency(&mut self) -> u64 {
        self.rng.random_range(1..30)
    }

    fn relay_outputs(&mut self, outs: Vec<RoomOutput>) {
        if std::env::var_os("TESSERA_SIM_TRACE").is_some() {
            for o in &outs {
                match o {
                    RoomOutput::Send { conn, bytes } => eprintln!(
                        "{} relay->{conn} {:?}",
                        self.now,
                        sync_core::protocol::Message::decode(bytes)
                            .map(|m| m.type_name().to_owned())
                    ),
                    RoomOutput::Storage { task, op } => eprintln!(
                        "{} relay storage {task:?} {}",
                        self.now,
                        format!("{op:?}").chars().take(60).collect::<String>()
                    ),
                    other => eprintln!("{} relay {:?}", self.now, other),
                }
            }
        }
        for out in outs {
            match out {
                RoomOutput::Send { conn, bytes } => {
                    if self.conn_owner.contains_key(&conn) {
                        let deliver_at = self.now + self.latency();
                        self.net.push(Frame {
                            deliver_at,
                            conn,
                            to_relay: false,
                            bytes,
                        });
                    }
                }
                RoomOutput::Close { conn, code, .. } => {
                    // Frames already sent arrive first, then the close.
                    if let Some(c) = self.conn_owner.remove(&conn) {
                        let mut mine: Vec<Frame> = Vec::new();
                        self.net.retain_mut(|f| {
                            if f.conn == conn && !f.to_relay {
                                mine.push(Frame {
                                    deliver_at: f.deliver_at,
                                    conn: f.conn,
                                    to_relay: false,
                                    bytes: std::mem::take(&mut f.bytes),
                                });
                                false
                            } else {
                                f.conn != conn
                            }
                        });
                        self.clients[c].conn = None;
                        for f in mine {
                            self.client_input(c, ClientInput::Frame(f.bytes));
                        }
                        self.client_input(
                            c,
                            ClientInput::TransportClosed {
                                code: Some(code),
                                reason: String::new(),
                            },
                        );
                    }
                }
                RoomOutput::Attach { .. } | RoomOutput::Event(_) => {}
                RoomOutput::Storage { task, op } => {
                    if let Some(loaded) = self.relay_store.start(task, op) {
                        // Loads answer at once (they read only committed state).
                        let outs = self.relay.handle(self.now, RoomInput::Loaded(loaded));
                        self.relay_outputs(outs);
                    } else {
                        let at = self.now + self.latency();
                        self.relay_tasks.push((at, task, false));
                    }
                }
                RoomOutput::SetTimer { at_ms } => self.relay_timer = Some(at_ms),
                RoomOutput::ReserveQuota { bytes, .. } => {
                    let outs = self.relay.handle(self.now, RoomInput::Quota(Ok(bytes)));
                    self.relay_outputs(outs);
                }
            }
        }
    }
}

fn collect_ids(blocks: &[sync_core::model::BlockView], out: &mut Vec<String>) {
    for b in blocks {
        out.push(b.id.clone());
        collect_ids(&b.children, out);
    }
}

fn room_config() -> RoomConfig {
    RoomConfig {
        // Small limits so splitting, fragmenting and compaction happen in short runs.
        max_frame_bytes: 4 * 1024,
        compact_after_log_rows: 8,
        compact_delay_ms: 50,
        quota_chunk_bytes: 1024,
        // Rows leave memory all the time, so messages wait for rows read back.
        max_resident_row_bytes: 2 * 1024,
        ..RoomConfig::default()
    }
}
