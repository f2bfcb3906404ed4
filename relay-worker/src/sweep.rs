//! The cron sweep's rule for orphaned snapshots in R2 (pure, tested natively).
//!
//! A room deletes its superseded snapshot after a compaction, but that delete can fail or be
//! interrupted. Keys are `snapshots/<doc>/<generation:020>`, so per document the newest keys sort
//! last. A room points at generation N and may be writing N+1 at any moment, so the two newest
//! generations of each document are always kept; anything older is superseded for certain.

use std::collections::BTreeMap;

/// How many of the newest generations per document the sweep keeps.
pub const KEEP_GENERATIONS: usize = 2;

/// The object key of snapshot `generation` of `doc`.
pub fn snapshot_key(doc: &str, generation: u64) -> String {
    format!("snapshots/{doc}/{generation:020}")
}

/// The keys among `keys` that are superseded snapshots and may be deleted.
pub fn superseded(keys: &[String]) -> Vec<String> {
    let mut by_doc: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for key in keys {
        if let Some((doc, _gen)) = key
            .strip_prefix("snapshots/")
            .and_then(|rest| rest.rsplit_once('/'))
        {
            by_doc.entry(doc).or_default().push(key);
        }
    }
    let mut out = Vec::new();
    for (_, mut ks) in by_doc {
        ks.sort();
        let old = ks.len().saturating_sub(KEEP_GENERATIONS);
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
            .map(|(g, d)| snapshot_key(d, *g))
            .collect();
        assert_eq!(superseded(&keys), vec![snapshot_key("a", 1)]);
    }
}
