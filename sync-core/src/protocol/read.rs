//! Tolerant CBOR readers: the value shapes real automerge-repo peers send, beyond what the
//! protocol README's CDDL allows.
//!
//! Every reader consumes at least one byte per element it produces and only allocates for bytes
//! it has read, so memory stays proportional to the input even when a length prefix lies.
//! Strings are also bounded by a maximum length each caller passes (see `limits.rs`), checked
//! before anything is copied, and chunk by chunk for indefinite-length strings.

use std::borrow::Cow;

use minicbor::Decoder;
use minicbor::data::Type;

use super::decode::DecodeError;
use super::limits::{MAX_ID_LEN, MAX_KEY_LEN};

pub(super) type Result<T> = std::result::Result<T, DecodeError>;

/// Integers beyond this lose precision as an `f64`, so a float this large cannot be a counter or
/// timestamp that a JS peer meant as an integer.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0; // 2^53

impl From<minicbor::decode::Error> for DecodeError {
    fn from(e: minicbor::decode::Error) -> Self {
        Self::Cbor(e.to_string())
    }
}

/// Skips semantic tags: cbor-x can wrap byte strings in tag 64 (typed arrays) and other
/// encoders tag text; the tag adds nothing we use.
fn skip_tags(d: &mut Decoder<'_>) -> Result<Type> {
    loop {
        match d.datatype()? {
            Type::Tag => {
                d.tag()?;
            }
            other => return Ok(other),
        }
    }
}

/// Consumes `null` or `undefined` and returns true; JS peers send either for a missing optional
/// value (cbor-x encodes `undefined` properties rather than dropping them).
pub(super) fn absent(d: &mut Decoder<'_>) -> Result<bool> {
    match skip_tags(d)? {
        Type::Null => d.null()?,
        Type::Undefined => d.undefined()?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Whether the next value (after any tags) is a text string.
pub(super) fn is_text(d: &mut Decoder<'_>) -> Result<bool> {
    Ok(matches!(skip_tags(d)?, Type::String | Type::StringIndef))
}

fn too_long(field: &'static str, max: usize) -> DecodeError {
    DecodeError::TooLong { field, max }
}

/// A text string of at most `max` bytes, definite or indefinite (chunked) length.
pub(super) fn text<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    max: usize,
) -> Result<Cow<'b, str>> {
    match skip_tags(d)? {
        Type::String => {
            let s = d.str()?;
            if s.len() > max {
                return Err(too_long(field, max));
            }
            Ok(Cow::Borrowed(s))
        }
        Type::StringIndef => {
            let mut out = String::new();
            for chunk in d.str_iter()? {
                let chunk = chunk?;
                if out.len() + chunk.len() > max {
                    return Err(too_long(field, max));
                }
                out.push_str(chunk);
            }
            Ok(Cow::Owned(out))
        }
        _ => Err(DecodeError::WrongType { field }),
    }
}

/// A byte string of at most `max` bytes, definite or indefinite (chunked) length.
pub(super) fn bytes<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    max: usize,
) -> Result<Cow<'b, [u8]>> {
    match skip_tags(d)? {
        Type::Bytes => {
            let b = d.bytes()?;
            if b.len() > max {
                return Err(too_long(field, max));
            }
            Ok(Cow::Borrowed(b))
        }
        Type::BytesIndef => {
            let mut out = Vec::new();
            for chunk in d.bytes_iter()? {
                let chunk = chunk?;
                if out.len() + chunk.len() > max {
                    return Err(too_long(field, max));
                }
                out.extend_from_slice(chunk);
            }
            Ok(Cow::Owned(out))
        }
        _ => Err(DecodeError::WrongType { field }),
    }
}

/// Either a text or a byte string, as the value's raw form.
pub(super) enum TextOrBytes<'b> {
    Text(Cow<'b, str>),
    Bytes(Cow<'b, [u8]>),
}

pub(super) fn text_or_bytes<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    max: usize,
) -> Result<TextOrBytes<'b>> {
    match skip_tags(d)? {
        Type::Bytes | Type::BytesIndef => bytes(d, field, max).map(TextOrBytes::Bytes),
        _ => text(d, field, max).map(TextOrBytes::Text),
    }
}

/// A peer or storage id. Some peers send ids as byte strings: those that are valid UTF-8 are
/// taken as that text (what the sender would have sent as a string), any others as lowercase
/// hex. Either way the id is re-encoded as text, so replies address the same string every time.
/// The text form is at most [`MAX_ID_LEN`] long (so hex ids at most half that many bytes).
pub(super) fn id_text(d: &mut Decoder<'_>, field: &'static str) -> Result<String> {
    let id = match text_or_bytes(d, field, MAX_ID_LEN)? {
        TextOrBytes::Text(s) => s.into_owned(),
        TextOrBytes::Bytes(b) => match std::str::from_utf8(&b) {
            Ok(s) => s.to_owned(),
            Err(_) => hex::encode(&b),
        },
    };
    if id.len() > MAX_ID_LEN {
        return Err(too_long(field, MAX_ID_LEN));
    }
    Ok(id)
}

/// A non-negative integer. JS numbers may arrive as floats (cbor-x writes integers beyond 32
/// bits, like `Date.now()`, as float64), so integral floats are accepted; NaN, infinities,
/// negatives and fractions are not, nor floats too large to have been exact integers.
pub(super) fn uint(d: &mut Decoder<'_>, field: &'static str) -> Result<u64> {
    match skip_tags(d)? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Ok(d.u64()?),
        Type::F16 | Type::F32 | Type::F64 => {
            let f = d.f64()?;
            if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= MAX_EXACT_FLOAT {
                // Checked above: integral and within 0..=2^53, so the cast is exact.
                Ok(f as u64)
            } else {
                Err(DecodeError::OutOfRange { field })
            }
        }
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            Err(DecodeError::OutOfRange { field })
        }
        _ => Err(DecodeError::WrongType { field }),
    }
}

pub(super) fn boolean(d: &mut Decoder<'_>, field: &'static str) -> Result<bool> {
    match skip_tags(d)? {
        Type::Bool => Ok(d.bool()?),
        _ => Err(DecodeError::WrongType { field }),
    }
}

/// Calls `item` once per element of an array of at most `max` elements, definite or indefinite
/// length.
pub(super) fn array<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    max: usize,
    mut item: impl FnMut(&mut Decoder<'b>) -> Result<()>,
) -> Result<()> {
    match skip_tags(d)? {
        Type::Array | Type::ArrayIndef => {}
        _ => return Err(DecodeError::WrongType { field }),
    }
    let too_many = DecodeError::TooMany { field, max };
    match d.array()? {
        Some(n) if n > max as u64 => Err(too_many),
        // A lying length just runs out of input: each element reads at least one byte.
        Some(n) => (0..n).try_for_each(|_| item(d)),
        None => {
            let mut seen = 0usize;
            until_break(d, |d| {
                seen += 1;
                if seen > max {
                    return Err(too_many.clone());
                }
                item(d)
            })
        }
    }
}

/// Like [`map`], for maps of at most `max` entries.
pub(super) fn map_max<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    max: usize,
    mut entry: impl FnMut(&mut Decoder<'b>) -> Result<()>,
) -> Result<()> {
    let mut seen = 0usize;
    map(d, field, |d| {
        seen += 1;
        if seen > max {
            return Err(DecodeError::TooMany { field, max });
        }
        entry(d)
    })
}

/// Calls `entry` once per key/value pair of a map, definite or indefinite length; `entry` must
/// consume both the key and the value.
pub(super) fn map<'b>(
    d: &mut Decoder<'b>,
    field: &'static str,
    mut entry: impl FnMut(&mut Decoder<'b>) -> Result<()>,
) -> Result<()> {
    match skip_tags(d)? {
        Type::Map | Type::MapIndef => {}
        _ => return Err(DecodeError::WrongType { field }),
    }
    match d.map()? {
        Some(n) => (0..n).try_for_each(|_| entry(d)),
        None => until_break(d, entry),
    }
}

fn until_break<'b>(
    d: &mut Decoder<'b>,
    mut item: impl FnMut(&mut Decoder<'b>) -> Result<()>,
) -> Result<()> {
    loop {
        if d.datatype()? == Type::Break {
            // A break is the single byte 0xff; minicbor has no call that consumes it alone.
            d.set_position(d.position() + 1);
            return Ok(());
        }
        item(d)?;
    }
}

/// A map key. Keys that are not text (integers, say) cannot be ours: they are skipped along with
/// their value and `None` is returned.
pub(super) fn key<'b>(d: &mut Decoder<'b>) -> Result<Option<Cow<'b, str>>> {
    match skip_tags(d)? {
        Type::String | Type::StringIndef => text(d, "key", MAX_KEY_LEN).map(Some),
        _ => {
            skip(d)?;
            skip(d)?;
            Ok(None)
        }
    }
}

/// Skips one whole value. A stray break byte is not a value: minicbor would consume it
/// silently, which would let malformed maps decode.
pub(super) fn skip(d: &mut Decoder<'_>) -> Result<()> {
    if d.datatype()? == Type::Break {
        return Err(DecodeError::Cbor("unexpected break".to_owned()));
    }
    Ok(d.skip()?)
}
