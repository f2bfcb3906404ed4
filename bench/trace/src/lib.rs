//! The editing history the benchmarks replay, and which one it was.
//!
//! The automerge-paper trace (`[pos, del, ...insertedChars]` per entry; 259,778 edits ending in
//! 104,852 characters) lives outside the repository. When it is missing, a benchmark still runs
//! on a stand-in: a seeded typist who writes words, backspaces over typos and moves the cursor
//! now and then, so the history has the same shape (single-character changes, mostly appends
//! near a cursor, some deletes) without being one repeated sentence that compresses
//! unrealistically well. Every figure printed from a stand-in says so through [`Source`].

use std::fmt;
use std::path::Path;

/// Where the trace is looked for by default, from the repository root: the steering
/// repository's data folder beside this one.
pub const DEFAULT_PATH: &str = "../shared/data/automerge-paper-edits.json";

/// Edits in the full automerge-paper trace.
pub const PAPER_EDITS: usize = 259_778;
/// Characters in the text after replaying the full trace.
pub const PAPER_FINAL_CHARS: usize = 104_852;

/// One edit: delete `del` characters at `pos`, then insert `text` there. Positions count
/// Unicode scalar values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Where, in characters.
    pub pos: usize,
    /// Characters deleted at `pos`.
    pub del: usize,
    /// Text inserted at `pos` after the delete.
    pub text: String,
}

/// Which history a benchmark replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The automerge-paper trace, read from this path.
    Paper(String),
    /// The seeded stand-in typist (the trace file was not found at this path).
    StandIn {
        /// Where the trace was looked for.
        missing: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Paper(path) => write!(f, "the automerge-paper trace ({path})"),
            Self::StandIn { missing } => write!(
                f,
                "a seeded stand-in typist (no trace at {missing}; figures are not comparable with the paper trace's)"
            ),
        }
    }
}

/// The trace file exists but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// It could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a JSON array of `[pos, del, ...chars]` entries.
    #[error("{path}: not an editing trace: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Replaying it does not give the known final length, so it is not the paper trace.
    #[error("{path}: replaying it gives {got} characters, not {PAPER_FINAL_CHARS}")]
    WrongLength {
        /// The file.
        path: String,
        /// The length it gave.
        got: usize,
    },
}

/// The first `n` edits of the trace at `path` when the file exists, else `n` stand-in edits.
/// A trace file that exists but is damaged is an error, not a silent fallback.
pub fn load_or_stand_in(path: &Path, n: usize) -> Result<(Vec<Edit>, Source), TraceError> {
    let shown = path.display().to_string();
    if !path.exists() {
        return Ok((stand_in(n, 0x7e55e7a), Source::StandIn { missing: shown }));
    }
    let raw = std::fs::read_to_string(path).map_err(|source| TraceError::Read {
        path: shown.clone(),
        source,
    })?;
    let malformed = |reason: String| TraceError::Malformed {
        path: shown.clone(),
        reason,
    };
    let entries: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(&raw).map_err(|e| malformed(e.to_string()))?;
    let mut edits = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let num = |k: usize| {
            e.get(k)
                .and_then(serde_json::Value::as_u64)
                .map(|v| v as usize)
                .ok_or_else(|| malformed(format!("entry {i} has no [pos, del]")))
        };
        let text = e
            .iter()
            .skip(2)
            .filter_map(serde_json::Value::as_str)
            .collect();
        edits.push(Edit {
            pos: num(0)?,
            del: num(1)?,
            text,
        });
    }
    if edits.len() == PAPER_EDITS {
        let got = replay_len(&edits);
        if got != PAPER_FINAL_CHARS {
            return Err(TraceError::WrongLength { path: shown, got });
        }
    }
    edits.truncate(n);
    Ok((edits, Source::Paper(shown)))
}

/// The length in characters of the text the edits leave, replayed on a plain character array.
pub fn replay_len(edits: &[Edit]) -> usize {
    let mut text: Vec<char> = Vec::new();
    for e in edits {
        let end = (e.pos + e.del).min(text.len());
        text.splice(e.pos.min(text.len())..end, e.text.chars());
    }
    text.len()
}

/// `n` single-character edits of a seeded typist: words from a small vocabulary, a backspace
/// now and then, and an occasional jump of the cursor to somewhere earlier in the text.
pub fn stand_in(n: usize, seed: u64) -> Vec<Edit> {
    const WORDS: &[&str] = &[
        "sync", "local", "first", "document", "replica", "merge", "change", "the", "of", "a",
        "relay", "offline", "edit", "block", "page", "text", "and", "is", "to", "in", "we",
        "conflict", "free", "history", "graph", "peer", "device", "state", "order", "causal",
    ];
    let mut rng = seed.max(1);
    let mut next = move || {
        // xorshift64: reproducible everywhere, no dependency.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut edits = Vec::with_capacity(n);
    let (mut len, mut cursor) = (0usize, 0usize);
    let mut pending: Vec<char> = Vec::new();
    while edits.len() < n {
        let roll = next() % 100;
        if roll < 3 && len > 0 {
            cursor = (next() as usize) % (len + 1);
            continue;
        }
        if roll < 9 && cursor > 0 {
            cursor -= 1;
            len -= 1;
            edits.push(Edit {
                pos: cursor,
                del: 1,
                text: String::new(),
            });
            continue;
        }
        if pending.is_empty() {
            let word = WORDS[(next() as usize) % WORDS.len()];
            pending = format!("{word} ").chars().rev().collect();
        }
        let c = pending.pop().expect("refilled above");
        edits.push(Edit {
            pos: cursor,
            del: 0,
            text: c.to_string(),
        });
        cursor += 1;
        len += 1;
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_is_reproducible_and_stays_inside_the_text() {
        let a = stand_in(20_000, 9);
        assert_eq!(a, stand_in(20_000, 9));
        assert_ne!(a, stand_in(20_000, 10));
        let mut len = 0usize;
        for e in &a {
            assert!(e.pos + e.del <= len, "edit {e:?} outside a text of {len}");
            len = len - e.del + e.text.chars().count();
        }
        assert_eq!(replay_len(&a), len);
        let deletes = a.iter().filter(|e| e.del > 0).count();
        assert!(deletes > 500 && deletes < 3_000, "{deletes} deletes");
    }

    #[test]
    fn a_missing_file_gives_the_stand_in_and_says_so() {
        let (edits, source) = load_or_stand_in(Path::new("/nonexistent/trace.json"), 100).unwrap();
        assert_eq!(edits.len(), 100);
        assert!(matches!(source, Source::StandIn { .. }));
        assert!(source.to_string().contains("stand-in"));
    }

    #[test]
    fn a_damaged_file_is_an_error() {
        let path = std::env::temp_dir().join(format!("trace-{}.json", std::process::id()));
        std::fs::write(&path, "[[1]]").unwrap();
        let err = load_or_stand_in(&path, 10).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, TraceError::Malformed { .. }), "{err}");
    }
}
