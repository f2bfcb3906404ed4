//! Block identity and kinds: what a block is, independent of where it sits in the tree.

use std::fmt;
use std::str::FromStr;

use super::error::InvalidInput;

/// The stable id of a block: 16 lowercase hex digits, chosen at random when the block is made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockId(String);

impl BlockId {
    /// A fresh id from 64 random bits. The caller supplies randomness: sync-core has no rng.
    pub fn from_random(bits: u64) -> Self {
        Self(format!("{bits:016x}"))
    }

    /// The id as it is stored in the document.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Ids of blocks written by other clients are accepted as they are, as long as they
    /// cannot collide with the location encoding.
    pub(crate) fn from_document(key: &str) -> Option<Self> {
        let ok = !key.is_empty() && key.len() <= 64 && !key.contains(super::location::SEPARATOR);
        ok.then(|| Self(key.to_owned()))
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BlockId {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_document(s).ok_or_else(|| InvalidInput::BlockId(s.to_owned()))
    }
}

/// What a block is. Kind-specific settings (`level`, `checked`, `language`) are stored as
/// separate props so that concurrent edits of different settings both survive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// Plain text.
    Paragraph,
    /// A heading of level 1 to 3.
    Heading {
        /// 1, 2 or 3.
        level: u8,
    },
    /// A to-do item.
    Todo {
        /// Whether it is ticked.
        checked: bool,
    },
    /// An item of a bulleted list.
    Bulleted,
    /// An item of a numbered list.
    Numbered,
    /// A quotation.
    Quote,
    /// A code block.
    Code {
        /// The language for highlighting, if any.
        language: Option<String>,
    },
    /// A horizontal rule; its text is ignored.
    Divider,
}

impl BlockKind {
    /// The name stored in the document and printed in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Paragraph => "paragraph",
            Self::Heading { .. } => "heading",
            Self::Todo { .. } => "todo",
            Self::Bulleted => "bulleted",
            Self::Numbered => "numbered",
            Self::Quote => "quote",
            Self::Code { .. } => "code",
            Self::Divider => "divider",
        }
    }

    /// Builds a kind from its name plus the optional settings a caller (such as the CLI) gives.
    pub fn from_parts(
        name: &str,
        level: Option<u8>,
        checked: bool,
        language: Option<String>,
    ) -> Result<Self, InvalidInput> {
        let kind = match name {
            "paragraph" => Self::Paragraph,
            "heading" => {
                let level = level.unwrap_or(1);
                if !(1..=3).contains(&level) {
                    return Err(InvalidInput::HeadingLevel(level));
                }
                Self::Heading { level }
            }
            "todo" => Self::Todo { checked },
            "bulleted" => Self::Bulleted,
            "numbered" => Self::Numbered,
            "quote" => Self::Quote,
            "code" => Self::Code { language },
            "divider" => Self::Divider,
            other => return Err(InvalidInput::Kind(other.to_owned())),
        };
        Ok(kind)
    }

    /// All kind names, for help texts and error messages.
    pub const NAMES: [&'static str; 8] = [
        "paragraph",
        "heading",
        "todo",
        "bulleted",
        "numbered",
        "quote",
        "code",
        "divider",
    ];
}

/// The marks rich text supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkName {
    /// Bold; value `true`.
    Bold,
    /// Italic; value `true`.
    Italic,
    /// Underline; value `true`.
    Underline,
    /// Strike-through; value `true`.
    Strike,
    /// Inline code; value `true`.
    Code,
    /// A hyperlink; value is the href.
    Link,
    /// Text colour; value is a colour name or CSS colour.
    Color,
}

impl MarkName {
    /// The name stored in the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bold => "bold",
            Self::Italic => "italic",
            Self::Underline => "underline",
            Self::Strike => "strike",
            Self::Code => "code",
            Self::Link => "link",
            Self::Color => "color",
        }
    }

    /// Whether the mark carries a string value rather than `true`.
    pub fn takes_value(self) -> bool {
        matches!(self, Self::Link | Self::Color)
    }
}

impl FromStr for MarkName {
    type Err = InvalidInput;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "bold" => Self::Bold,
            "italic" => Self::Italic,
            "underline" => Self::Underline,
            "strike" => Self::Strike,
            "code" => Self::Code,
            "link" => Self::Link,
            "color" => Self::Color,
            other => return Err(InvalidInput::Mark(other.to_owned())),
        })
    }
}

/// A mark to apply: a name plus, for `link` and `color`, its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkSpec {
    /// Which mark.
    pub name: MarkName,
    /// `None` for the boolean marks, the href or colour otherwise.
    pub value: Option<String>,
}

impl FromStr for MarkSpec {
    type Err = InvalidInput;

    /// Parses `NAME` or `NAME=VALUE`, as the CLI takes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, value) = match s.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (s, None),
        };
        let name: MarkName = name.parse()?;
        match (name.takes_value(), &value) {
            (true, None) => Err(InvalidInput::MarkNeedsValue(name.as_str())),
            (true, Some(v)) if v.is_empty() => Err(InvalidInput::MarkNeedsValue(name.as_str())),
            (false, Some(_)) => Err(InvalidInput::MarkTakesNoValue(name.as_str())),
            _ => Ok(Self { name, value }),
        }
    }
}
