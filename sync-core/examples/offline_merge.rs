//! Two devices edit one page offline, then sync through a relay room, all in one process.
//!
//! This drives the real client and relay state machines of `sync-core`, with storage in memory
//! and frames handed over directly instead of a network: the core alone, before any shell.
//! `make demo` runs the same scenario through the real relay in workerd once the shells exist.
//!
//! Run: `cargo run -p sync-core --example offline_merge`

use std::collections::{BTreeMap, VecDeque};

use sync_core::client::{ClientConfig, ClientEvent, ClientInput, ClientOutput, DocSync};
use sync_core::io::ConnId;
use sync_core::model::{BlockKind, EditError, MarkName, MarkSpec, Page, Target};
use sync_core::protocol::{DocumentId, PeerId, StorageId};
use sync_core::relay::{
    PeerAccess, RelayRoom, RoomConfig, RoomInput, RoomOutput, StorageOp, StoredRoom,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let doc_id = DocumentId::from_random_bytes(*b"tessera-demo-doc");
    let url = doc_id.to_url();

    // Device A creates the page and its blocks, then both devices are in sync.
    let mut page = Page::create([1; 16], "Trip plan");
    let heading = page.add_block(1, &BlockKind::Heading { level: 1 }, "Lisbon trip", &top())?;
    let notes = page.add_block(2, &BlockKind::Paragraph, "We fly on Friday", &top())?;
    let todo = page.add_block(3, &BlockKind::Todo { checked: false }, "Book hotel", &top())?;
    let ideas = page.add_block(4, &BlockKind::Bulleted, "Ideas", &top())?;
    let food = page.add_block(5, &BlockKind::Bulleted, "Food", &top())?;
    let saved = page.doc_mut().save();
    let mut a = device(0, doc_id, Page::load(&saved, [10; 16])?);
    let mut b = device(1, doc_id, Page::load(&saved, [11; 16])?);

    // Both offline: concurrent edits.
    let now = 1_000;
    let bold: MarkSpec = "bold".parse()?;
    let blue: MarkSpec = "color=blue".parse()?;
    edit(&mut a, now, |p| p.insert_text(&notes, 16, " morning"))?;
    edit(&mut b, now, |p| p.insert_text(&notes, 0, "Note: "))?;
    // Marks over overlapping ranges of the same text.
    edit(&mut a, now, |p| p.mark(&notes, 0, 10, &bold))?;
    edit(&mut b, now, |p| p.mark(&notes, 3, 16, &blue))?;
    edit(&mut b, now, |p| p.unmark(&notes, 0, 2, MarkName::Bold))?;
    // The same block moved to two places.
    edit(&mut a, now, |p| p.move_block(&todo, &under(&ideas)))?;
    edit(&mut b, now, |p| p.move_block(&todo, &under(&food)))?;
    // Moves that together would form a cycle.
    edit(&mut a, now, |p| p.move_block(&ideas, &under(&food)))?;
    edit(&mut b, now, |p| p.move_block(&food, &under(&ideas)))?;
    // An edit to a block the other device deletes.
    edit(&mut a, now, |p| p.insert_text(&heading, 11, " in May"))?;
    edit(&mut b, now, |p| p.delete_block(&heading))?;

    // Online: both sync through one relay room.
    let mut net = Net::new(doc_id);
    net.sync(&mut [&mut a, &mut b]);

    let json_a = a.page_mut_for_read().to_json(&url);
    let json_b = b.page_mut_for_read().to_json(&url);
    let view = a.page_mut_for_read().view(&url);
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

fn under(b: &sync_core::model::BlockId) -> Target {
    Target::End {
        parent: Some(b.clone()),
    }
}

fn device(i: u64, doc_id: DocumentId, page: Page) -> DocSync {
    let config = ClientConfig::new(
        PeerId::from(format!("device-{i}").as_str()),
        StorageId::from(format!("device-{i}-store").as_str()),
    );
    DocSync::new(config, doc_id, page, BTreeMap::new(), i)
}

/// Edits offline: the edit's storage write is done at once (this example keeps no disk).
fn edit(
    d: &mut DocSync,
    now: u64,
    f: impl FnOnce(&mut Page) -> Result<(), EditError>,
) -> Result<(), EditError> {
    let ((), outs) = d.edit(now, f)?;
    for out in outs {
        if let ClientOutput::Storage { task, .. } = out {
            d.handle(
                now,
                ClientInput::StorageDone {
                    task,
                    outcome: Ok(()),
                },
            );
        }
    }
    Ok(())
}

/// A relay room with in-memory storage, and direct frame delivery.
struct Net {
    room: RelayRoom,
    log: Vec<(u64, Vec<u8>)>,
    now: u64,
}

impl Net {
    fn new(doc_id: DocumentId) -> Self {
        let (room, outs) = RelayRoom::new(RoomConfig::default(), doc_id);
        let mut net = Self {
            room,
            log: Vec::new(),
            now: 2_000,
        };
        let mut queue = VecDeque::new();
        net.carry_relay(outs, &mut queue);
        net
    }

    fn sync(&mut self, devices: &mut [&mut DocSync]) {
        // (device index, frame) for frames to the relay; relay frames are routed by ConnId.
        let mut queue: VecDeque<(usize, bool, Vec<u8>)> = VecDeque::new();
        for (i, d) in devices.iter_mut().enumerate() {
            let outs = d.handle(self.now, ClientInput::GoOnline);
            self.carry_client(i, d, outs, &mut queue);
        }
        let mut in_sync = vec![false; devices.len()];
        while let Some((i, to_relay, bytes)) = queue.pop_front() {
            self.now += 1;
            if to_relay {
                let outs = self.room.handle(
                    self.now,
                    RoomInput::Frame {
                        conn: ConnId(i as u64),
                        bytes,
                    },
                );
                let mut relay_queue = VecDeque::new();
                self.carry_relay(outs, &mut relay_queue);
                queue.extend(relay_queue.into_iter().map(|(c, b)| (c, false, b)));
            } else {
                let outs = devices[i].handle(self.now, ClientInput::Frame(bytes));
                if outs.contains(&ClientOutput::Event(ClientEvent::InSync)) {
                    in_sync[i] = true;
                }
                self.carry_client(i, devices[i], outs, &mut queue);
            }
        }
        assert!(in_sync.iter().all(|s| *s), "every device reports InSync");
    }

    fn carry_client(
        &mut self,
        i: usize,
        d: &mut DocSync,
        outs: Vec<ClientOutput>,
        queue: &mut VecDeque<(usize, bool, Vec<u8>)>,
    ) {
        for out in outs {
            match out {
                ClientOutput::Connect => {
                    let access = PeerAccess {
                        subject: format!("user-{i}"),
                        tenant: "demo".into(),
                        can_write: true,
                        expires_at_ms: u64::MAX,
                        plan: sync_core::relay::PlanLimits::default(),
                    };
                    let conn = ConnId(i as u64);
                    let outs = self
                        .room
                        .handle(self.now, RoomInput::Connected { conn, access });
                    let mut relay_queue = VecDeque::new();
                    self.carry_relay(outs, &mut relay_queue);
                    queue.extend(relay_queue.into_iter().map(|(c, b)| (c, false, b)));
                    let outs = d.handle(self.now, ClientInput::TransportOpened);
                    self.carry_client(i, d, outs, queue);
                }
                ClientOutput::Send(bytes) => queue.push_back((i, true, bytes)),
                ClientOutput::Storage { task, .. } => {
                    let outs = d.handle(
                        self.now,
                        ClientInput::StorageDone {
                            task,
                            outcome: Ok(()),
                        },
                    );
                    self.carry_client(i, d, outs, queue);
                }
                _ => {}
            }
        }
    }

    fn carry_relay(&mut self, outs: Vec<RoomOutput>, queue: &mut VecDeque<(usize, Vec<u8>)>) {
        for out in outs {
            match out {
                RoomOutput::Send { conn, bytes } => queue.push_back((conn.0 as usize, bytes)),
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
                    self.carry_relay(outs, queue);
                }
                RoomOutput::ReserveQuota { bytes, .. } => {
                    let outs = self.room.handle(self.now, RoomInput::Quota(Ok(bytes)));
                    self.carry_relay(outs, queue);
                }
                _ => {}
            }
        }
    }
}
