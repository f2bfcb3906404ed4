//! The editing history P4/P5 replay: the automerge-paper trace when given (`--trace PATH`,
//! entries `[pos, del, ...insertedChars]`), else typed text, one character per edit.

use std::path::Path;

use anyhow::Context;

/// One edit: delete `del` characters at `pos`, then insert `text` there.
#[derive(Debug, Clone)]
pub(crate) struct Edit {
    pub(crate) pos: usize,
    pub(crate) del: usize,
    pub(crate) text: String,
}

/// The first `n` edits of the trace at `path`.
pub(crate) fn load(path: &Path, n: usize) -> anyhow::Result<Vec<Edit>> {
    let raw =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<Vec<serde_json::Value>> = serde_json::from_str(&raw)?;
    entries
        .into_iter()
        .take(n)
        .map(|e| {
            let num = |i: usize| {
                e.get(i)
                    .and_then(serde_json::Value::as_u64)
                    .map(|v| v as usize)
                    .context("a trace entry without [pos, del]")
            };
            let text = e[2..]
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            Ok(Edit {
                pos: num(0)?,
                del: num(1)?,
                text,
            })
        })
        .collect()
}

/// `n` appended characters of a repeated sentence (compresses far better than real text).
pub(crate) fn typed(n: usize) -> Vec<Edit> {
    const TEXT: &[u8] = b"the quick brown fox jumps over the lazy dog ";
    (0..n)
        .map(|i| Edit {
            pos: i,
            del: 0,
            text: char::from(TEXT[i % TEXT.len()]).to_string(),
        })
        .collect()
}
