//! The change graph against automerge itself: the same heads, the same "changes since", an
//! index that restores the same graph, and the sync protocol converging with stock automerge
//! peers on seeded random histories (property tests: many seeds, each a random history).

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::*;

/// A random history of `n` changes by up to three actors that fork and merge.
fn random_history(seed: u64, n: usize) -> AutoCommit {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut docs: Vec<AutoCommit> = (0..3).map(|_| AutoCommit::new()).collect();
    for k in 0..n {
        let who = rng.random_range(0..3);
        if rng.random_range(0..4) == 0 {
            let other = (who + 1) % 3;
            let mut from = docs[other].clone();
            docs[who].merge(&mut from).unwrap();
        }
        docs[who]
            .put(ROOT, format!("k{}", k % 7), k as u64)
            .unwrap();
        docs[who].commit();
    }
    let mut all = docs[0].clone();
    for d in &mut docs[1..] {
        all.merge(d).unwrap();
    }
    all
}

fn graph_of(doc: &mut AutoCommit) -> ChangeGraph {
    let mut g = ChangeGraph::default();
    for c in doc.get_changes(&[]) {
        let p = parse_change(c.raw_bytes().to_vec()).unwrap();
        assert!(g.deps_known(&p.deps), "automerge lists deps first");
        g.check(&p).unwrap();
        g.insert(&p);
    }
    g
}

#[test]
fn heads_and_changes_since_match_automerge_on_random_histories() {
    for seed in 0..40 {
        let mut doc = random_history(seed, 60);
        let g = graph_of(&mut doc);
        let mut heads = doc.get_heads();
        heads.sort();
        assert_eq!(g.heads(), heads, "seed {seed}");
        // Changes since an arbitrary earlier point: the same set automerge gives.
        let all = doc.get_changes(&[]);
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..5 {
            let base: Vec<ChangeHash> = (0..rng.random_range(1..3))
                .map(|_| all[rng.random_range(0..all.len())].hash())
                .collect();
            let mut want: Vec<ChangeHash> =
                doc.get_changes(&base).iter().map(|c| c.hash()).collect();
            want.sort();
            let idx: Vec<u32> = base.iter().map(|h| g.index_of(h).unwrap()).collect();
            let got_idx = g.not_ancestors(&idx);
            assert!(got_idx.windows(2).all(|w| w[0] < w[1]), "ascending");
            let mut got: Vec<ChangeHash> = got_idx.iter().map(|i| g.hash(*i)).collect();
            got.sort();
            assert_eq!(got, want, "seed {seed} base {base:?}");
        }
    }
}

#[test]
fn remove_ancestors_clears_exactly_what_the_heads_cover() {
    let mut doc = random_history(7, 80);
    let g = graph_of(&mut doc);
    let all = doc.get_changes(&[]);
    let head = all[40].hash();
    let covered: Vec<ChangeHash> = {
        let since: Vec<ChangeHash> = doc.get_changes(&[head]).iter().map(|c| c.hash()).collect();
        all.iter()
            .map(|c| c.hash())
            .filter(|h| !since.contains(h))
            .collect()
    };
    let mut set = Bitset::default();
    for i in 0..g.len() as u32 {
        set.insert(i);
    }
    g.remove_ancestors(&[g.index_of(&head).unwrap()], &mut set);
    assert_eq!(set.len(), g.len() - covered.len());
    for h in covered {
        assert!(!set.contains(g.index_of(&h).unwrap()));
    }
}

#[test]
fn the_stored_index_restores_the_same_graph_without_parsing() {
    let mut doc = random_history(3, 120);
    let g = graph_of(&mut doc);
    // Written in rows of 25 changes, as the room would.
    let mut restored = ChangeGraph::default();
    let mut first = 0u32;
    while (first as usize) < g.len() {
        let count = 25.min(g.len() as u32 - first);
        let bytes = g.concat(first..first + count).expect("in memory");
        let index = encode_index(&g, first, count);
        assert_eq!(index_count(&index), Some(u64::from(count)));
        // Every other row is left in storage, to be read back.
        let seq = u64::from(first / 25) + 1;
        let resident = (seq % 2 == 0).then(|| bytes.clone());
        restored
            .adopt_row(seq, bytes.len() as u64, resident, &index)
            .expect("consistent");
        if seq % 2 == 1 {
            assert_eq!(restored.bytes(first), None);
            let want = restored.rows_to_read(first..first + count);
            assert_eq!(want, vec![seq]);
            assert!(restored.fill_row(seq, bytes));
        }
        first += count;
    }
    assert_eq!(restored.heads(), g.heads());
    for i in 0..g.len() as u32 {
        assert_eq!(restored.hash(i), g.hash(i));
        assert_eq!(restored.deps(i), g.deps(i));
        assert_eq!(restored.bytes(i), g.bytes(i));
        assert_eq!(restored.entry(i), g.entry(i));
    }
    // An index from another point of the graph, or damaged, is refused whole.
    let index = encode_index(&g, 0, 5);
    let row = g.concat(0..5).expect("in memory");
    assert!(
        restored
            .adopt_row(99, row.len() as u64, Some(row.clone()), &index)
            .is_err()
    );
    let mut fresh = ChangeGraph::default();
    let mut bad = encode_index(&g, 0, 5);
    bad.truncate(bad.len() - 1);
    assert!(
        fresh
            .adopt_row(1, row.len() as u64, Some(row.clone()), &bad)
            .is_err()
    );
    assert!(fresh.is_empty());
}

#[test]
fn decoding_any_bytes_as_an_index_never_panics() {
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..2_000 {
        let len = rng.random_range(0..200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let _ = decode_index(&bytes);
        let mut g = ChangeGraph::default();
        let _ = g.adopt_row(1, 10, Some(vec![0; 10]), &bytes);
    }
}

#[test]
fn documents_and_malformed_chunks_are_refused_structurally() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "a", 1).unwrap();
    doc.commit();
    assert_eq!(
        parse_change(doc.save()).unwrap_err(),
        ChangeError::DocumentChunk
    );
    let mut change = doc.get_changes(&[])[0].raw_bytes().to_vec();
    let last = change.len() - 1;
    change[last] ^= 0xff;
    assert!(matches!(
        parse_change(change),
        Err(ChangeError::Malformed(_))
    ));
    assert!(matches!(
        parse_change(b"garbage".to_vec()),
        Err(ChangeError::Malformed(_))
    ));
    // A compressed change (automerge compresses big ones) is a change.
    let mut big = AutoCommit::new();
    big.put(ROOT, "text", "x".repeat(4_000)).unwrap();
    big.commit();
    let mut c = big.get_changes(&[])[0].clone();
    let compressed = c.bytes().to_vec();
    assert!(compressed.len() < c.raw_bytes().len(), "compressed");
    assert_eq!(parse_change(compressed).unwrap().hash, c.hash());
}

#[test]
fn a_second_change_with_an_actors_seq_is_refused() {
    let mut a = AutoCommit::new();
    a.put(ROOT, "x", 1).unwrap();
    a.commit();
    let mut b = a.fork();
    b.set_actor(a.get_actor().clone());
    a.put(ROOT, "x", 2).unwrap();
    a.commit();
    b.put(ROOT, "x", 3).unwrap();
    b.commit();
    let mut g = graph_of(&mut a);
    let forked = b.get_last_local_change().unwrap().raw_bytes().to_vec();
    let p = parse_change(forked).unwrap();
    assert!(matches!(
        g.check(&p),
        Err(ChangeError::DuplicateSeq { seq: 2, .. })
    ));
    assert_eq!(g.len(), 2);
    let _ = &mut g;
}

/// A relay that is only a graph and one `PeerSync` per peer, talking to stock automerge peers.
struct Hub {
    graph: ChangeGraph,
    states: Vec<PeerSync>,
    /// Changes whose deps have not arrived (a bloom filter's false positive can hold one back).
    waiting: Vec<ParsedChange>,
}

impl Hub {
    fn receive(&mut self, peer: usize, msg: sync::Message) {
        let before = self.graph.heads();
        self.states[peer].begin_receive(msg.flags);
        let had = !msg.changes.is_empty();
        self.waiting.extend(
            msg.changes
                .iter()
                .map(|c| parse_change(c.to_vec()).unwrap()),
        );
        // Admit in dependency order, as the room's queues do.
        while let Some(at) = self
            .waiting
            .iter()
            .position(|c| self.graph.deps_known(&c.deps))
        {
            let c = self.waiting.swap_remove(at);
            if !self.graph.contains(&c.hash) {
                self.graph.insert(&c);
            }
        }
        self.states[peer].finish_receive(&self.graph, &before, had, msg.heads, msg.need, msg.have);
    }

    fn generate(&mut self, peer: usize) -> Option<sync::Message> {
        let mut missing: Vec<ChangeHash> = Vec::new();
        let mut todo: Vec<ChangeHash> = self.states[peer].their_heads().to_vec();
        while let Some(h) = todo.pop() {
            if self.graph.contains(&h) || missing.contains(&h) {
                continue;
            }
            match self.waiting.iter().find(|w| w.hash == h) {
                Some(w) => todo.extend(w.deps.iter().copied()),
                None => missing.push(h),
            }
        }
        missing.sort();
        let out = self.states[peer].generate(&self.graph, missing, false, 0, 0)?;
        Some(sync::Message {
            heads: out.heads,
            need: out.need,
            have: out.have,
            changes: sync::ChunkList::from(
                out.changes
                    .iter()
                    .map(|i| self.graph.bytes(*i).expect("in memory").to_vec())
                    .collect::<Vec<_>>(),
            ),
            flags: None,
            version: sync::MessageVersion::V1,
        })
    }
}

#[test]
fn stock_automerge_peers_converge_through_the_graph_on_random_schedules() {
    for seed in 0..60 {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = 2 + (seed % 3) as usize;
        let mut peers: Vec<(AutoCommit, sync::State)> = (0..n)
            .map(|_| (AutoCommit::new(), sync::State::new()))
            .collect();
        let mut hub = Hub {
            graph: ChangeGraph::default(),
            states: vec![PeerSync::default(); n],
            waiting: Vec::new(),
        };
        for step in 0..200 {
            let p = rng.random_range(0..n);
            match rng.random_range(0..4) {
                0 => {
                    let (doc, _) = &mut peers[p];
                    doc.put(ROOT, format!("k{}", step % 5), step as u64)
                        .unwrap();
                    doc.commit();
                }
                1 => {
                    let (doc, state) = &mut peers[p];
                    if let Some(m) = doc.sync().generate_sync_message(state) {
                        hub.receive(p, m);
                    }
                }
                2 => {
                    if let Some(m) = hub.generate(p) {
                        let (doc, state) = &mut peers[p];
                        doc.sync().receive_sync_message(state, m).unwrap();
                    }
                }
                _ => {
                    // A reconnect: both sides start a fresh session.
                    peers[p].1 = sync::State::new();
                    hub.states[p] = PeerSync::default();
                }
            }
        }
        // Then run every pair until quiet.
        for _ in 0..50 {
            let mut quiet = true;
            for (p, (doc, state)) in peers.iter_mut().enumerate() {
                if let Some(m) = doc.sync().generate_sync_message(state) {
                    quiet = false;
                    hub.receive(p, m);
                }
                if let Some(m) = hub.generate(p) {
                    quiet = false;
                    doc.sync().receive_sync_message(state, m).unwrap();
                }
            }
            if quiet {
                break;
            }
        }
        let heads = hub.graph.heads();
        for (doc, _) in &mut peers {
            let mut h = doc.get_heads();
            h.sort();
            assert_eq!(h, heads, "seed {seed}");
        }
    }
}

#[test]
fn an_in_sync_reconnect_is_one_round_trip_of_heads_only() {
    let mut doc = random_history(5, 200);
    let mut hub = Hub {
        graph: graph_of(&mut doc),
        states: vec![PeerSync::default()],
        waiting: Vec::new(),
    };
    // The peer kept its shared heads from last time (automerge's persisted sync state).
    let mut state = sync::State::new();
    state.shared_heads = doc.get_heads();
    let hello = doc.sync().generate_sync_message(&mut state).unwrap();
    hub.receive(0, hello);
    let answer = hub.generate(0).expect("heads");
    assert!(answer.changes.is_empty());
    let bytes = answer.clone().encode().len();
    assert!(bytes < 1024, "{bytes} bytes");
    doc.sync().receive_sync_message(&mut state, answer).unwrap();
    assert!(doc.sync().generate_sync_message(&mut state).is_none());
    assert!(hub.generate(0).is_none());
}
