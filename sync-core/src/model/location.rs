//! The location register: where a block sits, written as one scalar so a move is one write.
//!
//! Encoded as `parent|position|prev_parent|prev_position`. An empty parent means the top level.
//! The previous location is what the mover saw before moving; it is what the cycle rule falls
//! back to when this move loses (see the module docs of `model`).

use super::block::BlockId;
use super::position;

pub(crate) const SEPARATOR: char = '|';

/// One location: a parent (None for the top level) and a fractional index among its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) parent: Option<BlockId>,
    pub(crate) position: String,
}

/// The value of a block's location register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) current: Place,
    pub(crate) previous: Option<Place>,
}

/// Where a block whose register is unreadable goes: the end of the top level, so it stays
/// visible (a foreign writer put something there we cannot parse; losing the block is worse).
const FALLBACK_POSITION: &str = "zzzz";

impl Location {
    pub(crate) fn encode(&self) -> String {
        let (pp, px) = match &self.previous {
            Some(p) => (parent_str(&p.parent), p.position.as_str()),
            None => ("", ""),
        };
        format!(
            "{}{SEPARATOR}{}{SEPARATOR}{pp}{SEPARATOR}{px}",
            parent_str(&self.current.parent),
            self.current.position
        )
    }

    /// Decodes a register value. Never fails: malformed parts fall back to the top level.
    pub(crate) fn decode(s: &str) -> Self {
        let mut parts = s.split(SEPARATOR);
        let current = decode_place(parts.next(), parts.next()).unwrap_or_else(|| Place {
            parent: None,
            position: FALLBACK_POSITION.to_owned(),
        });
        let previous = decode_place(parts.next(), parts.next());
        Self { current, previous }
    }
}

fn parent_str(parent: &Option<BlockId>) -> &str {
    parent.as_ref().map_or("", BlockId::as_str)
}

fn decode_place(parent: Option<&str>, position: Option<&str>) -> Option<Place> {
    let position = position.filter(|p| position::is_valid(p))?;
    let parent = match parent? {
        "" => None,
        id => Some(BlockId::from_document(id)?),
    };
    Some(Place {
        parent,
        position: position.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let loc = Location {
            current: Place {
                parent: Some(BlockId::from_random(1)),
                position: "V".into(),
            },
            previous: Some(Place {
                parent: None,
                position: "a".into(),
            }),
        };
        assert_eq!(Location::decode(&loc.encode()), loc);
        let fresh = Location {
            current: Place {
                parent: None,
                position: "V".into(),
            },
            previous: None,
        };
        assert_eq!(Location::decode(&fresh.encode()), fresh);
    }

    #[test]
    fn garbage_lands_at_top_level() {
        let loc = Location::decode("not a location");
        assert_eq!(loc.current.parent, None);
        assert!(loc.previous.is_none());
    }
}
