//! Scenario tests for the model: the published move anomalies, Peritext boundary cases, and
//! the edit-versus-delete rule. Replicas are merged directly; sync is tested elsewhere.

use super::*;
use crate::model::page::Target;

const URL: &str = "automerge:test";

fn actor(n: u8) -> [u8; 16] {
    [n; 16]
}

/// A page on replica 1 and a fork of it on replica 2, both synced.
fn two_replicas() -> (Page, Page) {
    let a = Page::create(actor(1), "Doc");
    let b = fork(&a, 2);
    (a, b)
}

fn fork(page: &Page, n: u8) -> Page {
    let mut doc = page.doc().clone();
    let bytes = doc.save();
    Page::load(&bytes, actor(n)).unwrap()
}

fn sync(a: &mut Page, b: &mut Page) {
    a.doc_mut().merge(b.doc_mut()).unwrap();
    b.doc_mut().merge(a.doc_mut()).unwrap();
}

fn add(p: &mut Page, bits: u64, text: &str, target: Target) -> BlockId {
    p.add_block(bits, &BlockKind::Paragraph, text, &target)
        .unwrap()
}

fn top() -> Target {
    Target::End { parent: None }
}

fn under(b: &BlockId) -> Target {
    Target::End {
        parent: Some(b.clone()),
    }
}

/// Asserts both replicas render identically and returns the rendering.
fn converged(a: &mut Page, b: &mut Page) -> PageView {
    let (va, vb) = (a.view(URL), b.view(URL));
    assert_eq!(a.to_json(URL), b.to_json(URL));
    assert_eq!(va, vb);
    va
}

fn ids(blocks: &[BlockView]) -> Vec<&str> {
    blocks.iter().map(|b| b.id.as_str()).collect()
}

#[test]
fn renders_the_documented_shape() {
    let mut p = Page::create(actor(1), "Hello page");
    let h = p
        .add_block(1, &BlockKind::Heading { level: 1 }, "Hello", &top())
        .unwrap();
    p.mark(&h, 0, 5, &"bold".parse().unwrap()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&p.to_json(URL)).unwrap();
    assert_eq!(json["url"], URL);
    assert_eq!(json["title"], "Hello page");
    assert_eq!(json["heads"].as_array().unwrap().len(), 1);
    let block = &json["blocks"][0];
    assert_eq!(block["id"], h.as_str());
    assert_eq!(block["kind"], "heading");
    assert_eq!(block["props"], serde_json::json!({"level": 1}));
    assert_eq!(block["text"], "Hello");
    assert_eq!(
        block["marks"],
        serde_json::json!([{"start": 0, "end": 5, "name": "bold", "value": true}])
    );
    assert_eq!(block["children"], serde_json::json!([]));
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["blocks", "heads", "title", "url"]); // serde_json::Value sorts keys
    assert!(
        p.to_json(URL)
            .starts_with(r#"{"url":"automerge:test","title":"Hello page","heads":["#)
    );
}

#[test]
fn positions_count_unicode_scalar_values() {
    let mut p = Page::create(actor(1), "t");
    let b = add(&mut p, 1, "a😀b", top());
    p.insert_text(&b, 2, "X").unwrap();
    assert_eq!(p.text(&b).unwrap(), "a😀Xb");
    p.mark(&b, 1, 2, &"italic".parse().unwrap()).unwrap();
    let v = p.view(URL);
    assert_eq!(
        (v.blocks[0].marks[0].start, v.blocks[0].marks[0].end),
        (1, 2)
    );
    assert!(matches!(
        p.delete_text(&b, 3, 5),
        Err(EditError::OutOfRange { len: 4, .. })
    ));
    assert_eq!(
        p.text(&b).unwrap(),
        "a😀Xb",
        "a refused edit writes nothing"
    );
}

#[test]
fn siblings_keep_insertion_order() {
    let mut p = Page::create(actor(1), "t");
    let a = add(&mut p, 1, "a", top());
    let c = add(&mut p, 3, "c", top());
    let b = add(&mut p, 2, "b", Target::After(a.clone()));
    let z = add(&mut p, 4, "z", Target::Start { parent: None });
    assert_eq!(p.children(None), vec![z, a, b, c]);
}

/// Kleppmann et al. 2021, figure 1: the same node moved to two different parents.
#[test]
fn concurrent_moves_of_one_block_pick_one_parent() {
    let (mut r1, mut r2) = two_replicas();
    let a = add(&mut r1, 1, "A", top());
    let b = add(&mut r1, 2, "B", top());
    let c = add(&mut r1, 3, "C", top());
    sync(&mut r1, &mut r2);
    r1.move_block(&a, &under(&b)).unwrap();
    r2.move_block(&a, &under(&c)).unwrap();
    sync(&mut r1, &mut r2);
    let v = converged(&mut r1, &mut r2);
    let total_a: usize = v
        .blocks
        .iter()
        .map(|blk| blk.children.iter().filter(|x| x.id == a.as_str()).count())
        .sum();
    assert_eq!(total_a, 1, "A appears exactly once: {v:?}");
    assert_eq!(ids(&v.blocks), [b.as_str(), c.as_str()]);
}

/// Kleppmann et al. 2021, figure 2: A moved under B while B is moved under A.
#[test]
fn moves_that_would_form_a_cycle_keep_the_tree_acyclic() {
    let (mut r1, mut r2) = two_replicas();
    let a = add(&mut r1, 1, "A", top());
    let b = add(&mut r1, 2, "B", top());
    sync(&mut r1, &mut r2);
    r1.move_block(&a, &under(&b)).unwrap();
    r2.move_block(&b, &under(&a)).unwrap();
    sync(&mut r1, &mut r2);
    let v = converged(&mut r1, &mut r2);
    // One move wins, the other is undone: one block at the top with the other beneath it.
    assert_eq!(v.blocks.len(), 1, "{v:?}");
    assert_eq!(v.blocks[0].children.len(), 1);
    let pair = [v.blocks[0].id.as_str(), v.blocks[0].children[0].id.as_str()];
    assert!(pair == [a.as_str(), b.as_str()] || pair == [b.as_str(), a.as_str()]);
}

#[test]
fn a_three_way_cycle_resolves_identically() {
    let (mut r1, mut r2) = two_replicas();
    let mut r3 = fork(&r1, 3);
    let a = add(&mut r1, 1, "A", top());
    let b = add(&mut r1, 2, "B", top());
    let c = add(&mut r1, 3, "C", top());
    sync(&mut r1, &mut r2);
    sync(&mut r1, &mut r3);
    r1.move_block(&a, &under(&b)).unwrap();
    r2.move_block(&b, &under(&c)).unwrap();
    r3.move_block(&c, &under(&a)).unwrap();
    sync(&mut r1, &mut r2);
    sync(&mut r2, &mut r3);
    sync(&mut r1, &mut r2);
    converged(&mut r1, &mut r2);
    let v = converged(&mut r2, &mut r3);
    fn count(bs: &[BlockView]) -> usize {
        bs.iter().map(|b| 1 + count(&b.children)).sum()
    }
    assert_eq!(count(&v.blocks), 3);
}

#[test]
fn local_moves_under_a_descendant_are_refused() {
    let mut p = Page::create(actor(1), "t");
    let a = add(&mut p, 1, "A", top());
    let b = add(&mut p, 2, "B", under(&a));
    assert!(matches!(
        p.move_block(&a, &under(&b)),
        Err(EditError::WouldCycle(_))
    ));
    assert!(matches!(
        p.move_block(&a, &under(&a)),
        Err(EditError::WouldCycle(_))
    ));
}

#[test]
fn concurrent_edit_and_delete_delete_wins() {
    let (mut r1, mut r2) = two_replicas();
    let a = add(&mut r1, 1, "hello", top());
    let keep = add(&mut r1, 2, "keep", top());
    sync(&mut r1, &mut r2);
    r1.insert_text(&a, 5, " world").unwrap();
    r2.delete_block(&a).unwrap();
    sync(&mut r1, &mut r2);
    let v = converged(&mut r1, &mut r2);
    assert_eq!(ids(&v.blocks), [keep.as_str()]);
    assert!(matches!(
        r1.insert_text(&a, 0, "x"),
        Err(EditError::Deleted(_))
    ));
}

#[test]
fn a_block_moved_into_a_concurrently_deleted_subtree_is_rescued() {
    let (mut r1, mut r2) = two_replicas();
    let p = add(&mut r1, 1, "parent", top());
    let child = add(&mut r1, 2, "child", under(&p));
    let x = add(&mut r1, 3, "x", top());
    sync(&mut r1, &mut r2);
    r1.delete_block(&p).unwrap();
    r2.move_block(&x, &under(&child)).unwrap();
    let added = add(&mut r2, 4, "new", under(&p));
    sync(&mut r1, &mut r2);
    let v = converged(&mut r1, &mut r2);
    // p and child are gone (delete wins); x and the new block survive at the top level.
    let mut top_ids = ids(&v.blocks);
    top_ids.sort_unstable();
    let mut want = [x.as_str(), added.as_str()];
    want.sort_unstable();
    assert_eq!(top_ids, want);
}

#[test]
fn concurrent_text_edits_in_one_block_merge() {
    let (mut r1, mut r2) = two_replicas();
    let a = add(&mut r1, 1, "The fox", top());
    sync(&mut r1, &mut r2);
    r1.insert_text(&a, 4, "quick ").unwrap();
    r2.insert_text(&a, 7, " jumps").unwrap();
    sync(&mut r1, &mut r2);
    converged(&mut r1, &mut r2);
    assert_eq!(r1.text(&a).unwrap(), "The quick fox jumps");
}

fn marks_of(p: &mut Page) -> Vec<(usize, usize, String, serde_json::Value)> {
    p.view(URL).blocks[0]
        .marks
        .iter()
        .map(|m| (m.start, m.end, m.name.clone(), m.value.clone()))
        .collect()
}

/// Peritext example: bold and italic over overlapping ranges both survive.
#[test]
fn peritext_overlapping_bold_and_italic() {
    let (mut r1, mut r2) = two_replicas();
    let a = add(&mut r1, 1, "The quick fox jumped", top());
    sync(&mut r1, &mut r2);
    r1.mark(&a, 0, 9, &"bold".parse().unwrap()).unwrap();
    r2.mark(&a, 4, 13, &"italic".parse().unwrap()).unwrap();
    sync(&mut r1, &mut r2);
    converged(&mut r1, &mut r2);
    let t = serde_json::Value::Bool(true);
    assert_eq!(
        marks_of(&mut r1),
        vec![
            (0, 9, "bold".into(), t.clone()),
            (4, 13, "italic".into(), t)
        ]
    );
}

/// Peritext example: text typed at the end of a bold span concurrently with the bolding is bold;
/// text typed at the end of a link is not part of the link.
#[test]
fn peritext_insert_at_span_boundaries() {
    let (mut r1, mut r2) = two_replicas();
    let a = add(&mut r1, 1, "bold link", top());
    sync(&mut r1, &mut r2);
    r1.mark(&a, 0, 4, &"bold".parse().unwrap()).unwrap();
    r1.mark(&a, 5, 9, &"link=https://x.test".parse().unwrap())
        .unwrap();
    r2.insert_text(&a, 9, "!").unwrap();
    r2.insert_text(&a, 4, "er").unwrap();
    sync(&mut r1, &mut r2);
    converged(&mut r1, &mut r2);
    assert_eq!(r1.text(&a).unwrap(), "bolder link!");
    let marks = marks_of(&mut r1);
    assert_eq!(
        marks,
        vec![
            (0, 6, "bold".into(), serde_json::Value::Bool(true)),
            (7, 11, "link".into(), serde_json::json!("https://x.test")),
        ]
    );
}

/// Peritext example: concurrent bold and un-bold of overlapping ranges converge.
#[test]
fn peritext_concurrent_mark_and_unmark() {
    let (mut r1, mut r2) = two_replicas();
    let a = add(&mut r1, 1, "abcdefghij", top());
    r1.mark(&a, 0, 10, &"bold".parse().unwrap()).unwrap();
    sync(&mut r1, &mut r2);
    r1.unmark(&a, 2, 6, MarkName::Bold).unwrap();
    r2.mark(&a, 4, 8, &"color=red".parse().unwrap()).unwrap();
    r2.unmark(&a, 5, 9, MarkName::Bold).unwrap();
    sync(&mut r1, &mut r2);
    converged(&mut r1, &mut r2);
    let marks = marks_of(&mut r1);
    assert!(marks.iter().all(|m| m.0 < m.1));
    assert!(marks.contains(&(4, 8, "color".into(), serde_json::json!("red"))));
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    assert!(matches!(
        BlockKind::from_parts("table", None, false, None),
        Err(InvalidInput::Kind(_))
    ));
    assert!(matches!(
        BlockKind::from_parts("heading", Some(4), false, None),
        Err(InvalidInput::HeadingLevel(4))
    ));
    assert!(matches!(
        "link".parse::<MarkSpec>(),
        Err(InvalidInput::MarkNeedsValue(_))
    ));
    assert!(matches!(
        "bold=1".parse::<MarkSpec>(),
        Err(InvalidInput::MarkTakesNoValue(_))
    ));
    let mut p = Page::create(actor(1), "t");
    let missing: BlockId = "deadbeef".parse().unwrap();
    assert!(matches!(
        p.insert_text(&missing, 0, "x"),
        Err(EditError::NoSuchBlock(_))
    ));
    let empty = Page::empty(actor(2));
    let mut empty = empty;
    assert!(matches!(
        empty.add_block(1, &BlockKind::Paragraph, "", &top()),
        Err(EditError::NotAPage(_))
    ));
    assert_eq!(p.view(URL).blocks.len(), 0);
}
