//! A growable set of graph indices, one bit each: what a peer has been sent, in 32 KiB per
//! 260,000 changes instead of a set of 32-byte hashes.

/// A set of `u32` indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bitset {
    words: Vec<u64>,
    count: usize,
}

impl Bitset {
    pub(crate) fn contains(&self, i: u32) -> bool {
        let (w, b) = (i as usize / 64, i % 64);
        self.words.get(w).is_some_and(|word| word & (1 << b) != 0)
    }

    /// Adds `i`; whether it was new.
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        let (w, b) = (i as usize / 64, i % 64);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        let new = self.words[w] & (1 << b) == 0;
        self.words[w] |= 1 << b;
        self.count += usize::from(new);
        new
    }

    pub(crate) fn remove(&mut self, i: u32) {
        let (w, b) = (i as usize / 64, i % 64);
        if let Some(word) = self.words.get_mut(w)
            && *word & (1 << b) != 0
        {
            *word &= !(1 << b);
            self.count -= 1;
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(crate) fn clear(&mut self) {
        self.words = Vec::new();
        self.count = 0;
    }

    /// The smallest member.
    pub(crate) fn min(&self) -> Option<u32> {
        let (w, word) = self.words.iter().enumerate().find(|(_, w)| **w != 0)?;
        Some(w as u32 * 64 + word.trailing_zeros())
    }
}
