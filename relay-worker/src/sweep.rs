//! R2 key layout and the cron sweep's rule for orphaned snapshots (pure, tested natively).
//!
//! Keys are `snapshots/<tenant>/<doc>/<generation:020>` (the tenant made path-safe), so per
//! document the newest keys sort last. A room deletes its superseded snapshot after a
//! compaction, but that delete can fail or be interrupted; a room points at generation N and
//! may be writing N+1 at any moment, so the two newest generations of each document are always
//! kept and anything older is superseded for certain. A deleted document leaves a marker
//! `tombstones/<tenant>/<doc>`: every snapshot of it is an orphan, whenever it was written
//! (a put that raced the delete lands after the tombstone cleared the rest).

use std::collections::{BTreeMap, BTreeSet};

/// How many of the newest generations per document the sweep keeps.
pub const KEEP_GENERATIONS: usize = 2;
/// Prefix of every snapshot key.
pub const SNAPSHOTS: &str = "snapshots/";
/// Prefix of every tombstone marker.
pub const TOMBSTONES: &str = "tombstones/";
/// Most keys one R2 `delete` call takes.
pub const DELETE_BATCH: usize = 1000;

/// The tenant as one path segment: ASCII letters, digits, `-`, `_` and `.` stay, every other
/// byte becomes `%XX`, so no tenant name can reach into another tenant's keys.
pub fn tenant_segment(tenant: &str) -> String {
    let mut out = String::with_capacity(tenant.len());
    for b in tenant.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') || (b == b'.' && tenant != "..") {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() || out == "." {
        // Never an empty or dot segment.
        return format!("%{}", hex_of(tenant));
    }
    out
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

/// The prefix of every snapshot of `doc` of `tenant`.
pub fn snapshot_prefix(tenant: &str, doc: &str) -> String {
    format!("{SNAPSHOTS}{}/{doc}/", tenant_segment(tenant))
}

/// The object key of snapshot `generation` of `doc` of `tenant`.
pub fn snapshot_key(tenant: &str, doc: &str, generation: u64) -> String {
    format!("{}{generation:020}", snapshot_prefix(tenant, doc))
}

/// Where snapshots were kept before keys carried the tenant; read as a fallback only.
pub fn legacy_snapshot_key(doc: &str, generation: u64) -> String {
    format!("{SNAPSHOTS}{doc}/{generation:020}")
}

/// The marker a deleted document leaves for the sweep.
pub fn tombstone_key(tenant: &str, doc: &str) -> String {
    format!("{TOMBSTONES}{}/{doc}", tenant_segment(tenant))
}

/// The snapshot keys among `snapshots` to delete: superseded generations, and every snapshot
/// of a document with a marker among `tombstones`.
pub fn superseded(snapshots: &[String], tombstones: &[String]) -> Vec<String> {
    let deleted: BTreeSet<&str> = tombstones
        .iter()
        .filter_map(|k| k.strip_prefix(TOMBSTONES))
        .collect();
    let mut by_doc: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for key in snapshots {
        if let Some((doc, _gen)) = key
            .strip_prefix(SNAPSHOTS)
            .and_then(|rest| rest.rsplit_once('/'))
        {
            by_doc.entry(doc).or_default().push(key);
        }
    }
    let mut out = Vec::new();
    for (doc, mut ks) in by_doc {
        ks.sort();
        let old = if deleted.contains(doc) {
            ks.len()
        } else {
            ks.len().saturating_sub(KEEP_GENERATIONS)
        };
        out.extend(ks.into_iter().take(old).cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_two_newest_per_document() {
        let keys: Vec<String> = [(1, "a"), (2, "a"), (10, "a"), (3, "b"), (4, "b")]
            .iter()
            .map(|(g, d)| snapshot_key("t", d, *g))
            .collect();
        assert_eq!(superseded(&keys, &[]), vec![snapshot_key("t", "a", 1)]);
    }

    #[test]
    fn deleted_documents_lose_every_snapshot_and_only_theirs() {
        let keys: Vec<String> = [(7, "t1", "a"), (8, "t2", "a"), (9, "t1", "b")]
            .iter()
            .map(|(g, t, d)| snapshot_key(t, d, *g))
            .collect();
        let gone = superseded(&keys, &[tombstone_key("t1", "a")]);
        assert_eq!(gone, vec![snapshot_key("t1", "a", 7)]);
    }

    #[test]
    fn tenants_cannot_reach_into_each_others_keys() {
        assert_eq!(tenant_segment("acme-1_x.y"), "acme-1_x.y");
        assert_eq!(tenant_segment("a/b"), "a%2Fb");
        assert_ne!(tenant_segment("a/b"), tenant_segment("a%2Fb"));
        assert_eq!(tenant_segment(".."), "%2E%2E");
        assert!(!tenant_segment("").is_empty());
        assert!(!snapshot_prefix("x/../y", "d").contains("/../"));
    }
}
