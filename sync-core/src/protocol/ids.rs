//! Identifiers that travel on the wire: documents, peers and storages.

use std::fmt;
use std::str::FromStr;

/// The prefix automerge-repo puts in front of a document id to make a URL.
const URL_PREFIX: &str = "automerge:";

/// bs58check of 16 bytes plus a 4 byte checksum is at most 28 characters. Anything much longer
/// is rejected before decoding, because base58 decoding is quadratic in the input length and
/// ids arrive from untrusted peers.
const MAX_ENCODED_LEN: usize = 40;

/// The id of a document: the 16 bytes of a UUID, written as bs58check like automerge-repo does.
///
/// Any 16 bytes are accepted when decoding: automerge-repo mints v4 UUIDs, but nothing in the
/// protocol depends on the version bits, and rejecting other ids would split the network for no
/// benefit.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

/// A string or byte sequence that is not a document id.
///
/// Recovery: the id came from a peer or a user, not from Tessera; report it back (a `bad_message`
/// error on the wire, a validation error in a UI). Retrying with the same input cannot succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDocumentId {
    /// The text is not valid bs58check (bad alphabet or checksum), or is far too long to be an id.
    #[error("document id is not valid bs58check")]
    NotBs58Check,
    /// The decoded bytes are not the 16 bytes of a UUID.
    #[error("document id has {0} bytes, expected 16")]
    WrongLength(usize),
}

impl DocumentId {
    /// Wraps raw UUID bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Makes a fresh id from 16 random bytes, setting the UUID v4 version and variant bits.
    ///
    /// The caller supplies the randomness because `sync-core` reads no OS random source.
    pub const fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }

    /// The raw UUID bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The automerge-repo URL of this document, `automerge:<bs58check>`.
    pub fn to_url(&self) -> String {
        format!("{URL_PREFIX}{self}")
    }

    /// Parses either an automerge URL (`automerge:<id>`) or a bare bs58check id.
    ///
    /// Any `#fragment` or `?query` that newer automerge-repo versions append to URLs (for
    /// example pinned heads) is ignored: it does not name a different document.
    pub fn parse_url_or_id(s: &str) -> Result<Self, BadDocumentId> {
        let id = s.strip_prefix(URL_PREFIX).unwrap_or(s);
        let id = id.split(['#', '?']).next().unwrap_or(id);
        id.parse()
    }

    /// Builds an id from a byte slice, as found when a peer sends the raw UUID bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, BadDocumentId> {
        <[u8; 16]>::try_from(bytes)
            .map(Self)
            .map_err(|_| BadDocumentId::WrongLength(bytes.len()))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = BadDocumentId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_ENCODED_LEN {
            return Err(BadDocumentId::NotBs58Check);
        }
        let bytes = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|_| BadDocumentId::NotBs58Check)?;
        Self::try_from_slice(&bytes)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

string_id! {
    /// The ephemeral id of one running peer (a browser tab, a process, the relay).
    ///
    /// Opaque text: automerge-repo generates random strings, and the protocol only compares them.
    PeerId
}

string_id! {
    /// The id of a peer's persistent storage, shared by every peer id that uses it (for example
    /// all tabs on one IndexedDB). Sync state is saved per storage id.
    StorageId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bs58check_round_trip_and_url() {
        let id = DocumentId::from_random_bytes([7; 16]);
        let text = id.to_string();
        assert_eq!(text.parse::<DocumentId>(), Ok(id));
        assert_eq!(DocumentId::parse_url_or_id(&id.to_url()), Ok(id));
        assert_eq!(DocumentId::parse_url_or_id(&text), Ok(id));
        assert_eq!(
            DocumentId::parse_url_or_id(&format!("{}#heads", id.to_url())),
            Ok(id)
        );
    }

    #[test]
    fn random_bytes_become_a_v4_uuid() {
        let id = DocumentId::from_random_bytes([0xff; 16]);
        assert_eq!(id.as_bytes()[6] >> 4, 4);
        assert_eq!(id.as_bytes()[8] >> 6, 0b10);
        let id = DocumentId::from_random_bytes([0; 16]);
        assert_eq!(id.as_bytes()[6], 0x40);
        assert_eq!(id.as_bytes()[8], 0x80);
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!("".parse::<DocumentId>(), Err(BadDocumentId::NotBs58Check));
        assert_eq!(
            "0OIl".parse::<DocumentId>(),
            Err(BadDocumentId::NotBs58Check)
        );
        let wrong_len = bs58::encode([1u8; 8]).with_check().into_string();
        assert_eq!(
            wrong_len.parse::<DocumentId>(),
            Err(BadDocumentId::WrongLength(8))
        );
        let mut corrupted = DocumentId::from_bytes([3; 16]).to_string().into_bytes();
        corrupted[3] = if corrupted[3] == b'2' { b'3' } else { b'2' };
        let corrupted = String::from_utf8(corrupted).unwrap_or_default();
        assert_eq!(
            corrupted.parse::<DocumentId>(),
            Err(BadDocumentId::NotBs58Check)
        );
        assert!("x".repeat(10_000).parse::<DocumentId>().is_err());
    }

    #[test]
    fn matches_automerge_repo_encoding() {
        // The example id used in automerge-repo's own docs and tests.
        let id: DocumentId = "4NMNnkMhL8jXrdJ9jamS58PAVdXu".parse().unwrap();
        assert_eq!(id.to_string(), "4NMNnkMhL8jXrdJ9jamS58PAVdXu");
    }
}
