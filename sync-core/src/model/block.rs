//! Block identity and kinds: what a block is, independent of where it sits in the tree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::InvalidInput;

/// The stable id of a block: 16 lowercase hex digits, chosen at random when the block is made.
/// In JSON it is that string; parsing it applies the same checks as [`FromStr`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

impl TryFrom<String> for BlockId {
    type Error = InvalidInput;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<BlockId> for String {
    fn from(id: BlockId) -> Self {
        id.0
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
///
/// In JSON: `{"kind":"heading","level":2}`, `{"kind":"todo","checked":true}`,
/// `{"kind":"paragraph"}`; parsing checks the settings as [`BlockKind::from_parts`] does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", try_from = "KindJson")]
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

    /// Checks the settings: heading levels are 1 to 3.
    pub fn check(&self) -> Result<(), InvalidInput> {
        match self {
            Self::Heading { level } if !(1..=3).contains(level) => {
                Err(InvalidInput::HeadingLevel(*level))
            }
            _ => Ok(()),
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

/// The JSON form of [`BlockKind`] before its settings are checked.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum KindJson {
    Paragraph,
    Heading {
        level: u8,
    },
    Todo {
        #[serde(default)]
        checked: bool,
    },
    Bulleted,
    Numbered,
    Quote,
    Code {
        #[serde(default)]
        language: Option<String>,
    },
    Divider,
}

impl TryFrom<KindJson> for BlockKind {
    type Error = InvalidInput;

    fn try_from(k: KindJson) -> Result<Self, Self::Error> {
        let kind = match k {
            KindJson::Paragraph => Self::Paragraph,
            KindJson::Heading { level } => Self::Heading { level },
            KindJson::Todo { checked } => Self::Todo { checked },
            KindJson::Bulleted => Self::Bulleted,
            KindJson::Numbered => Self::Numbered,
            KindJson::Quote => Self::Quote,
            KindJson::Code { language } => Self::Code { language },
            KindJson::Divider => Self::Divider,
        };
        kind.check()?;
        Ok(kind)
    }
}

/// The marks rich text supports; in JSON, the lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// A mark to apply: a name plus, for `link` and `color`, its value. In JSON
/// `{"name":"bold"}` or `{"name":"link","value":"https://…"}`, checked as [`FromStr`] checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MarkSpecJson")]
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
        Self::new(name.parse()?, value)
    }
}

/// The JSON form of [`MarkSpec`] before the value is checked against the name.
#[derive(Deserialize)]
struct MarkSpecJson {
    name: MarkName,
    #[serde(default)]
    value: Option<String>,
}

impl TryFrom<MarkSpecJson> for MarkSpec {
    type Error = InvalidInput;

    fn try_from(m: MarkSpecJson) -> Result<Self, Self::Error> {
        Self::new(m.name, m.value)
    }
}

impl MarkSpec {
    /// A mark with its value, checked: `link` and `color` need a non-empty value, the others
    /// take none.
    pub fn new(name: MarkName, value: Option<String>) -> Result<Self, InvalidInput> {
        match (name.takes_value(), &value) {
            (true, None) => Err(InvalidInput::MarkNeedsValue(name.as_str())),
            (true, Some(v)) if v.is_empty() => Err(InvalidInput::MarkNeedsValue(name.as_str())),
            (false, Some(_)) => Err(InvalidInput::MarkTakesNoValue(name.as_str())),
            _ => Ok(Self { name, value }),
        }
    }
}
