//! The benchmark body. This one file is compiled twice, once per automerge version: `v06.rs` and
//! `v12.rs` each bind `am` to their crate and include it with `#[path]`. Only APIs that exist with
//! the same shape in 0.6.1 and 0.12.0 are used; the one difference (`&Change` vs `Change`) goes
//! through `IntoChange`.

use std::fmt::Display;
use std::time::Instant;

use super::am;
use am::sync::{Message, State, SyncDoc};
use am::transaction::Transactable;
use am::{
    ActorId, Automerge, Change, LoadOptions, ObjId, ObjType, ROOT, ReadDoc, TextEncoding,
    VerificationMode,
};

use crate::{
    Config, IntoChange, Report, Trace, alloc, delta, fmt_bytes, fmt_dur, fmt_mib, fmt_rate, median,
    progress,
};

/// The trace counts positions in Unicode scalar values.
const ENC: TextEncoding = TextEncoding::UnicodeCodePoint;

fn err(e: impl Display) -> String {
    e.to_string()
}

/// A tiny deterministic PRNG for the remote peer's edit positions.
#[derive(Debug)]
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn text_id(doc: &Automerge) -> Result<ObjId, String> {
    match doc.get(ROOT, "text").map_err(err)? {
        Some((_, id)) => Ok(id),
        None => Err("document has no `text` object".to_owned()),
    }
}

fn check_text(doc: &Automerge, text: &ObjId, expected: &str, what: &str) -> Result<(), String> {
    let got = doc.text(text).map_err(err)?;
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "automerge {}: text after {what} differs from the plain replay ({} vs {} chars)",
            super::LABEL,
            got.chars().count(),
            expected.chars().count()
        ))
    }
}

/// A one-character insert at a pseudo-random position, committed as one change.
fn local_insert(doc: &mut Automerge, text: &ObjId, rng: &mut Lcg) -> Result<(), String> {
    let pos = rng.below(doc.length(text) + 1);
    let mut tx = doc.transaction();
    tx.splice_text(text, pos, 0, "x").map_err(err)?;
    tx.commit();
    Ok(())
}

/// Exchanges sync messages until neither side has anything to send.
fn sync_until_quiet(
    a: &mut Automerge,
    sa: &mut State,
    b: &mut Automerge,
    sb: &mut State,
) -> Result<usize, String> {
    for round in 0..100 {
        let to_b = a.generate_sync_message(sa);
        let sent_to_b = to_b.is_some();
        if let Some(m) = to_b {
            b.receive_sync_message(sb, m).map_err(err)?;
        }
        let to_a = b.generate_sync_message(sb);
        let sent_to_a = to_a.is_some();
        if let Some(m) = to_a {
            a.receive_sync_message(sa, m).map_err(err)?;
        }
        if !sent_to_b && !sent_to_a {
            return Ok(round);
        }
    }
    Err("sync did not converge in 100 rounds".to_owned())
}

pub(crate) fn run(cfg: &Config, trace: &Trace, start: Instant) -> Result<Report, String> {
    let label = super::LABEL;
    let mut r = Report::new(label);
    let n_edits = trace.edits.len();

    // 1. Build: one change per edit, into one Text object.
    progress(
        label,
        start,
        "1. building the document, one change per edit",
    );
    let base = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    let mut doc = Automerge::new_with_encoding(ENC);
    doc.set_actor(ActorId::from([1u8; 16]));
    let mut edits = trace.edits.iter();
    let first = edits.next().ok_or("empty trace")?;
    let mut tx = doc.transaction();
    // The Text object is created in the first edit's change, so changes == edits.
    let text = tx.put_object(ROOT, "text", ObjType::Text).map_err(err)?;
    tx.splice_text(&text, first.pos, first.del as isize, &first.ins)
        .map_err(err)?;
    tx.commit();
    for (i, e) in edits.enumerate() {
        let mut tx = doc.transaction();
        tx.splice_text(&text, e.pos, e.del as isize, &e.ins)
            .map_err(err)?;
        tx.commit();
        if (i + 2) % 50_000 == 0 {
            progress(label, start, &format!("   {}/{n_edits} edits", i + 2));
        }
    }
    let build_time = t.elapsed();
    let build_peak = delta(alloc::peak(), base);
    let build_retained = delta(alloc::current(), base);
    check_text(&doc, &text, &trace.expected, "build")?;
    r.add(
        "1. build: replay, 1 commit per edit (total)",
        fmt_dur(build_time),
    );
    r.add(
        "1. build: time per edit+commit",
        fmt_dur(build_time / n_edits as u32),
    );
    r.add("1. build: peak heap", fmt_mib(build_peak));
    r.add("1. build: retained heap", fmt_mib(build_retained));

    // 2. save(), then load() from a clean baseline.
    progress(label, start, "2. save and load");
    let before_save = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    let saved = doc.save();
    let save_time = t.elapsed();
    let save_peak = delta(alloc::peak(), before_save);
    drop(doc);
    drop(text);
    r.add("2. save(): size", fmt_bytes(saved.len()));
    r.add("2. save(): time", fmt_dur(save_time));
    r.add("2. save(): peak heap above the doc", fmt_mib(save_peak));

    // First a load that skips verifying the heads' hashes, measured and dropped...
    let base = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    let opts = LoadOptions::new()
        .text_encoding(ENC)
        .verification_mode(VerificationMode::DontCheck);
    let unchecked = Automerge::load_with_options(&saved, opts).map_err(err)?;
    let unchecked_time = t.elapsed();
    let unchecked_peak = delta(alloc::peak(), base);
    check_text(&unchecked, &text_id(&unchecked)?, &trace.expected, "load")?;
    drop(unchecked);

    // ...then the default load (VerificationMode::Check), which the rest of the run uses.
    let base = alloc::current();
    alloc::reset_peak();
    let t = Instant::now();
    let mut doc =
        Automerge::load_with_options(&saved, LoadOptions::new().text_encoding(ENC)).map_err(err)?;
    let load_time = t.elapsed();
    let load_peak = delta(alloc::peak(), base);
    let load_retained = delta(alloc::current(), base);
    let text = text_id(&doc)?;
    check_text(&doc, &text, &trace.expected, "load")?;
    r.add("2. load(): time", fmt_dur(load_time));
    r.add("2. load(): peak heap", fmt_mib(load_peak));
    r.add(
        "2. load(): retained heap (the loaded doc)",
        fmt_mib(load_retained),
    );
    r.add(
        "2. load(DontCheck): time / peak heap",
        format!("{} / {}", fmt_dur(unchecked_time), fmt_mib(unchecked_peak)),
    );
    drop(saved);

    // Remote changes: one-character inserts made on a fork, as a chain of single changes.
    let n_remote = cfg.single_runs + cfg.batches.iter().sum::<usize>() + cfg.naive_max;
    progress(
        label,
        start,
        &format!("   making {n_remote} remote changes on a fork"),
    );
    let heads_at_load = doc.get_heads();
    let mut peer = doc.fork();
    peer.set_actor(ActorId::from([2u8; 16]));
    let peer_text = text_id(&peer)?;
    let mut rng = Lcg(0x7e55_e2a0);
    let mut local_times = Vec::with_capacity(n_remote);
    for _ in 0..n_remote {
        let t = Instant::now();
        local_insert(&mut peer, &peer_text, &mut rng)?;
        local_times.push(t.elapsed());
    }
    r.add(
        "(peer) local 1-char edit+commit, loaded doc (median)",
        fmt_dur(median(&local_times)),
    );
    let remote: Vec<Change> = peer
        .get_changes(&heads_at_load)
        .into_iter()
        .map(|c| c.into_change())
        .collect();
    if remote.len() != n_remote {
        return Err(format!(
            "expected {n_remote} remote changes, got {}",
            remote.len()
        ));
    }
    let mut remote = remote.into_iter();

    let mark = alloc::current();
    alloc::reset_peak();

    // 3. Apply ONE remote change, `single_runs` times (distinct, consecutive changes).
    progress(label, start, "3. apply_changes of 1 change");
    let mut single = Vec::with_capacity(cfg.single_runs);
    for _ in 0..cfg.single_runs {
        let batch: Vec<Change> = remote.by_ref().take(1).collect();
        let t = Instant::now();
        doc.apply_changes(batch).map_err(err)?;
        single.push(t.elapsed());
    }
    let single_median = median(&single);
    r.add(
        format!("3. apply 1 remote change (median of {})", cfg.single_runs),
        fmt_dur(single_median),
    );
    r.add("3. -> ingest rate at that latency", fmt_rate(single_median));

    // 4. Batches in one apply_changes call.
    for n in cfg.batches {
        progress(label, start, &format!("4. apply_changes of {n} changes"));
        let batch: Vec<Change> = remote.by_ref().take(n).collect();
        let t = Instant::now();
        doc.apply_changes(batch).map_err(err)?;
        let took = t.elapsed();
        r.add(
            format!("4. apply batch of {n} in 1 call: per change"),
            format!("{} (total {})", fmt_dur(took / n as u32), fmt_dur(took)),
        );
    }

    // 5. The naive relay: one apply_changes call per change, within a time budget.
    progress(
        label,
        start,
        "5. naive loop: 1 apply_changes call per change",
    );
    let t = Instant::now();
    let mut naive = 0usize;
    while naive < cfg.naive_max && t.elapsed() < cfg.naive_budget {
        let batch: Vec<Change> = remote.by_ref().take(1).collect();
        doc.apply_changes(batch).map_err(err)?;
        naive += 1;
    }
    let naive_time = t.elapsed();
    let per = naive_time / naive as u32;
    r.add(
        "5. naive: 1 apply_changes call per change",
        format!("{} per change (n={naive}/{})", fmt_dur(per), cfg.naive_max),
    );
    r.add("5. -> naive ingest rate", fmt_rate(per));
    r.add(
        "3-5. peak heap above loaded doc while applying",
        fmt_mib(delta(alloc::peak(), mark)),
    );
    r.add(
        "3-5. retained heap growth while applying",
        fmt_mib(delta(alloc::current(), mark)),
    );

    // Catch up on whatever the naive loop skipped, so the two docs have the same heads.
    let rest: Vec<Change> = remote.collect();
    doc.apply_changes(rest).map_err(err)?;
    let (mut h1, mut h2) = (doc.get_heads(), peer.get_heads());
    h1.sort();
    h2.sort();
    if h1 != h2 {
        return Err("relay doc and peer diverged after applying all changes".to_owned());
    }

    // 6. Sync: after one full round (heads exchanged), receive messages carrying 1 change.
    progress(label, start, "6. sync: first round on the full history");
    let (mut s_doc, mut s_peer) = (State::new(), State::new());
    let t = Instant::now();
    sync_until_quiet(&mut doc, &mut s_doc, &mut peer, &mut s_peer)?;
    r.add(
        "6. sync: first round, docs already equal (whole exchange)",
        fmt_dur(t.elapsed()),
    );
    progress(label, start, "6. sync: messages carrying 1 change");
    let (mut recv, mut reply, mut inc_save, mut inc_size) = (vec![], vec![], vec![], vec![]);
    for _ in 0..cfg.single_runs {
        local_insert(&mut peer, &peer_text, &mut rng)?;
        let msg = peer
            .generate_sync_message(&mut s_peer)
            .ok_or("peer had no sync message after a change")?;
        if msg.changes.len() != 1 {
            return Err(format!(
                "sync message carries {} changes",
                msg.changes.len()
            ));
        }
        let msg = Message::decode(&msg.encode()).map_err(err)?;
        let heads_before = doc.get_heads();
        let t = Instant::now();
        doc.receive_sync_message(&mut s_doc, msg).map_err(err)?;
        recv.push(t.elapsed());

        let t = Instant::now();
        let answer = doc.generate_sync_message(&mut s_doc);
        reply.push(t.elapsed());
        if let Some(m) = answer {
            peer.receive_sync_message(&mut s_peer, m).map_err(err)?;
        }

        // 7. Incremental save of just that change (what the relay appends to its log).
        let t = Instant::now();
        let inc = doc.save_after(&heads_before);
        inc_save.push(t.elapsed());
        inc_size.push(inc.len());

        sync_until_quiet(&mut doc, &mut s_doc, &mut peer, &mut s_peer)?;
    }
    r.add(
        format!(
            "6. receive_sync_message, 1 change (median of {})",
            cfg.single_runs
        ),
        fmt_dur(median(&recv)),
    );
    r.add(
        "6. generate_sync_message reply (median)",
        fmt_dur(median(&reply)),
    );

    // 7. save_after.
    progress(label, start, "7. save_after");
    inc_size.sort_unstable();
    r.add(
        "7. save_after(heads before 1 change) (median)",
        format!(
            "{} ({} bytes)",
            fmt_dur(median(&inc_save)),
            inc_size[inc_size.len() / 2]
        ),
    );
    let n_new = n_remote + cfg.single_runs;
    let t = Instant::now();
    let inc = doc.save_after(&heads_at_load);
    r.add(
        format!("7. save_after(heads at load): {n_new} new changes"),
        format!("{} ({} bytes)", fmt_dur(t.elapsed()), inc.len()),
    );

    drop((doc, peer));
    progress(label, start, "done");
    Ok(r)
}
