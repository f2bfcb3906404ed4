//! A cold start: the graph rebuilt from the stored rows through their stored index, without
//! parsing a change or loading a document. Only data stored before the relay kept an index is
//! parsed (rows without an index), or loaded (a snapshot whose rows were trimmed, as rooms
//! used to do, and whole documents some peers sent in version-2 messages).

use automerge::Automerge;

use super::*;
use crate::relay::graph::{index_count, parse_change, split_chunks};

impl RelayRoom {
    /// Rebuilds the graph, the durable prefix and the snapshot cache from `stored`, taking its
    /// bytes. `false` if a snapshot that holds changes found nowhere else does not load.
    pub(super) fn restore(&mut self, stored: &mut StoredRoom) -> bool {
        let rows = std::mem::take(&mut stored.log);
        let snapshot = stored.snapshot.take();
        let through = snapshot.as_ref().map(|s| s.log_through);
        // Rooms stored before the change graph trimmed the rows their snapshot covered.
        let legacy = snapshot.is_some() && rows.first().is_none_or(|r| r.seq > 1);
        let mut unresolved: Vec<ParsedChange> = Vec::new();
        let mut covers = None;
        if let Some(snap) = snapshot.as_ref().filter(|_| legacy) {
            let Ok(doc) = Automerge::load(&snap.bytes) else {
                return false;
            };
            for change in doc.get_changes(&[]) {
                if let Ok(c) = parse_change(change.raw_bytes().to_vec()) {
                    self.restore_change(c, &mut unresolved);
                }
            }
            covers = Some(self.graph.len() as u32);
        }
        let expected: u64 = rows
            .iter()
            .filter_map(|r| r.index.as_deref().and_then(index_count))
            .sum();
        self.graph
            .reserve(expected.min(u64::from(u32::MAX)) as usize);
        for row in rows {
            let seq = row.seq;
            let unadopted = match &row.index {
                Some(index) => self.graph.adopt_row(seq, row.len, row.bytes, index).err(),
                None => Some(row.bytes),
            };
            match unadopted {
                None => {}
                Some(Some(bytes)) => self.restore_parsed_row(seq, &bytes, &mut unresolved),
                Some(None) => self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                    error: format!("log row {seq} has no usable index and was not read"),
                })),
            }
            if through == Some(seq) && !legacy {
                covers = Some(self.graph.len() as u32);
            }
        }
        if !unresolved.is_empty() {
            self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                error: format!(
                    "{} stored changes lack a dependency and are not served",
                    unresolved.len()
                ),
            }));
        }
        self.durable = self.graph.len() as u32;
        self.durable_heads = self.graph.head_indices().clone();
        self.snapshot = snapshot.zip(covers).map(|(s, covers)| SnapshotCache {
            bytes: s.bytes,
            covers,
        });
        true
    }

    /// A row without a (usable) index: its chunks parsed one by one, in order.
    fn restore_parsed_row(&mut self, seq: u64, bytes: &[u8], unresolved: &mut Vec<ParsedChange>) {
        let Some(chunks) = split_chunks(bytes) else {
            self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                error: format!("log row {seq} does not parse and was skipped"),
            }));
            return;
        };
        for (at, len, is_document) in chunks {
            let chunk = &bytes[at..at + len];
            if is_document {
                // A whole document a version-2 peer once sent: its changes, loaded once.
                match Automerge::load(chunk) {
                    Ok(doc) => {
                        for change in doc.get_changes(&[]) {
                            if let Ok(c) = parse_change(change.raw_bytes().to_vec()) {
                                self.restore_change(c, unresolved);
                            }
                        }
                    }
                    Err(e) => self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                        error: format!("a document in log row {seq} does not load: {e}"),
                    })),
                }
                continue;
            }
            match parse_change(chunk.to_vec()) {
                Ok(c) => self.restore_change(c, unresolved),
                Err(e) => self.out.push(RoomOutput::Event(RoomEvent::StorageFailed {
                    error: format!("a change in log row {seq} was skipped: {e}"),
                })),
            }
        }
    }

    /// Adds a stored change, or keeps it until its deps turn up in a later row (rooms before
    /// the change graph stored changes in the order they arrived, deps or not).
    fn restore_change(&mut self, change: ParsedChange, unresolved: &mut Vec<ParsedChange>) {
        if self.graph.contains(&change.hash) {
            return;
        }
        if !self.graph.deps_known(&change.deps) || self.graph.check(&change).is_err() {
            unresolved.push(change);
            return;
        }
        self.graph.insert(&change);
        while let Some(at) = unresolved
            .iter()
            .position(|c| self.graph.deps_known(&c.deps) && !self.graph.contains(&c.hash))
        {
            let c = unresolved.swap_remove(at);
            if self.graph.check(&c).is_ok() {
                self.graph.insert(&c);
            }
        }
        unresolved.retain(|c| !self.graph.contains(&c.hash));
    }
}
