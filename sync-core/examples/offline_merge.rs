//! Two devices edit one page offline, then sync through a relay room, all in one process.
//!
//! This drives the real client and relay state machines of `sync-core`, with storage in memory
//! and frames handed over directly instead of a network: the core alone, before any shell.
//! Each device is a [`Device`], the core's generic output loop over an in-memory store; only
//! the transport (a [`Link`] into the room) is written here. `make demo` runs the same
//! scenario through the real relay in workerd.
//!
//! Run: `cargo run -p sync-core --example offline_merge`

use std::collections::VecDeque;

use sync_core::client::{ClientConfig, ClientInput, ClientStorageOp, DocSync};
use sync_core::io::{ConnId, Millis};
use sync_core::model::{BlockId, BlockKind, MarkName, MarkSpec, Page, PageEdit, Target};
use sync_core::protocol::{DocumentId, PeerId, StorageId};
use sync_core::relay::{
    PeerAccess, RelayRoom, RoomConfig, RoomInput, RoomOutput, StorageOp, StoredRoom,
};
use sync_core::testing::{ClientStore, Device, Link, MemoryStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let doc_id = DocumentId::from_random_bytes(*b"tessera-demo-doc");

    // Device A creates the page and its blocks, then both devices hold it.
    let mut page = Page::create([1; 16], "Trip plan");
    let heading = page.add_block(1, &BlockKind::Heading { level: 1 }, "Lisbon trip", &top())?;
    let notes = page.add_block(2, &BlockKind::Paragraph, "We fly on Friday", &top())?;
    let todo = page.add_block(3, &BlockKind::Todo { checked: false }, "Book hotel", &top())?;
    let ideas = page.add_block(4, &BlockKind::Bulleted, "Ideas", &top())?;
    let food = page.add_block(5, &BlockKind::Bulleted, "Food", &top())?;
    let saved = page.doc_mut().save();
    let mut net = Net::new(doc_id);
    let mut a = net.device(0, doc_id, &saved)?;
    let mut b = net.device(1, doc_id, &saved)?;

    // Both offline: concurrent edits, as data.
    let bold: MarkSpec = "bold".parse()?;
    let blue: MarkSpec = "color=blue".parse()?;
    let text = |block: &BlockId, pos, text: &str| PageEdit::InsertText {
        block: block.clone(),
        pos,
        text: text.into(),
    };
    let mark = |block: &BlockId, start, end, mark: &MarkSpec| PageEdit::Mark {
        block: block.clone(),
        start,
        end,
        mark: mark.clone(),
    };
    let move_under = |block: &BlockId, parent: &BlockId| PageEdit::Move {
        block: block.clone(),
        target: under(parent),
    };
    let on_a = [
        text(&notes, 16, " morning"),
        // Marks over overlapping ranges of the same text.
        mark(&notes, 0, 10, &bold),
        // The same block moved to two places; and moves that together would form a cycle.
        move_under(&todo, &ideas),
        move_under(&ideas, &food),
        // An edit to a block the other device deletes.
        text(&heading, 11, " in May"),
        PageEdit::SetKind {
            block: todo.clone(),
            kind: BlockKind::Todo { checked: true },
        },
    ];
    let on_b = [
        text(&notes, 0, "Note: "),
        mark(&notes, 3, 16, &blue),
        PageEdit::Unmark {
            block: notes.clone(),
            start: 0,
            end: 2,
            name: MarkName::Bold,
        },
        move_under(&todo, &food),
        move_under(&food, &ideas),
        PageEdit::Delete {
            block: heading.clone(),
        },
    ];
    for edit in &on_a {
        a.apply(net.now, edit, &mut net.port(0))?;
    }
    for edit in &on_b {
        b.apply(net.now, edit, &mut net.port(1))?;
    }

    // Online: both sync through one relay room.
    net.sync(&mut [&mut a, &mut b]);

    let json_a = a.sync.to_json();
    let json_b = b.sync.to_json();
    let view = a.sync.view();
    println!("{}", view.title);
    print_blocks(&view.blocks, 1);
    println!("\n{json_a}");
    if json_a != json_b {
        return Err("the two devices diverged".into());
    }
    println!(
        "\nBoth devices show the same page ({} bytes of JSON).",
        json_a.len()
    );
    Ok(())
}

fn print_blocks(blocks: &[sync_core::model::BlockView], depth: usize) {
    for b in blocks {
        let marks: Vec<String> = b
            .marks
            .iter()
            .map(|m| format!("{}[{}..{}]={}", m.name, m.start, m.end, m.value))
            .collect();
        println!(
            "{}- ({}) {} {}",
            "  ".repeat(depth),
            b.kind,
            b.text,
            marks.join(" ")
        );
        print_blocks(&b.children, depth + 1);
    }
}

fn top() -> Target {
    Target::End { parent: None }
}

fn under(b: &BlockId) -> Target {
    Target::End {
        parent: Some(b.clone()),
    }
}

/// Frames in flight: (device index, to the relay?, bytes).
type Queue = VecDeque<(usize, bool, Vec<u8>)>;

/// A relay room with in-memory storage, and direct frame delivery.
struct Net {
    room: RelayRoom,
    log: Vec<(u64, Vec<u8>)>,
    now: Millis,
    queue: Queue,
}

/// One device's transport into the room.
struct Port<'a> {
    net: &'a mut Net,
    device: usize,
}

impl Link for Port<'_> {
    fn connect(&mut self, now: Millis, _token: Option<&str>) -> Option<ClientInput> {
        let access = PeerAccess {
            subject: format!("user-{}", self.device),
            tenant: "demo".into(),
            can_write: true,
            expires_at_ms: u64::MAX,
            plan: sync_core::relay::PlanLimits::default(),
        };
        let conn = ConnId(self.device as u64);
        let outs = self
            .net
            .room
            .handle(now, RoomInput::Connected { conn, access });
        self.net.carry_relay(outs);
        Some(ClientInput::TransportOpened)
    }

    fn send(&mut self, _now: Millis, frame: Vec<u8>) {
        self.net.queue.push_back((self.device, true, frame));
    }

    fn disconnect(&mut self, _now: Millis) {}
}

impl Net {
    fn new(doc_id: DocumentId) -> Self {
        let (room, outs) = RelayRoom::new(RoomConfig::default(), doc_id);
        let mut net = Self {
            room,
            log: Vec::new(),
            now: 1_000,
            queue: VecDeque::new(),
        };
        net.carry_relay(outs);
        net
    }

    fn port(&mut self, device: usize) -> Port<'_> {
        Port { net: self, device }
    }

    /// A device whose store already holds the page (saved as `bytes`), loaded from it.
    fn device(
        &mut self,
        i: usize,
        doc_id: DocumentId,
        bytes: &[u8],
    ) -> Result<Device, Box<dyn std::error::Error>> {
        let config = ClientConfig::new(
            PeerId::from(format!("device-{i}").as_str()),
            StorageId::from(format!("device-{i}-store").as_str()),
        );
        let mut store = MemoryStore::default();
        store.run(&ClientStorageOp::ReplaceWithSnapshot {
            doc: doc_id,
            bytes: bytes.to_vec(),
        })?;
        let now = self.now;
        let seed = [10 + i as u8; 16];
        Ok(Device::new(
            now,
            DocSync::open(config, doc_id, seed),
            store,
            &mut self.port(i),
        ))
    }

    fn sync(&mut self, devices: &mut [&mut Device]) {
        self.now = 2_000;
        for (i, d) in devices.iter_mut().enumerate() {
            d.handle(self.now, ClientInput::GoOnline, &mut self.port(i));
        }
        while let Some((i, to_relay, bytes)) = self.queue.pop_front() {
            self.now += 1;
            if to_relay {
                let outs = self.room.handle(
                    self.now,
                    RoomInput::Frame {
                        conn: ConnId(i as u64),
                        bytes,
                    },
                );
                self.carry_relay(outs);
            } else {
                let now = self.now;
                devices[i].handle(now, ClientInput::Frame(bytes), &mut self.port(i));
            }
        }
        assert!(
            devices.iter().all(|d| d.in_sync()),
            "every device reports in sync"
        );
    }

    fn carry_relay(&mut self, outs: Vec<RoomOutput>) {
        for out in outs {
            match out {
                RoomOutput::Send { conn, bytes } => {
                    self.queue.push_back((conn.0 as usize, false, bytes));
                }
                RoomOutput::Storage { task, op } => {
                    let outs = match op {
                        StorageOp::Load => self
                            .room
                            .handle(self.now, RoomInput::Loaded(StoredRoom::default())),
                        StorageOp::AppendLog { seq, bytes, .. } => {
                            self.log.push((seq, bytes));
                            self.room.handle(
                                self.now,
                                RoomInput::StorageDone {
                                    task,
                                    outcome: Ok(()),
                                },
                            )
                        }
                        _ => self.room.handle(
                            self.now,
                            RoomInput::StorageDone {
                                task,
                                outcome: Ok(()),
                            },
                        ),
                    };
                    self.carry_relay(outs);
                }
                RoomOutput::ReserveQuota { bytes, .. } => {
                    let outs = self.room.handle(self.now, RoomInput::Quota(Ok(bytes)));
                    self.carry_relay(outs);
                }
                _ => {}
            }
        }
    }
}
