//! The wire protocol: the automerge-repo WebSocket protocol v1, plus Tessera's extensions.

mod decode;
mod encode;
mod error_code;
mod ids;
mod message;
mod read;

pub use decode::{DEFAULT_MAX_FRAME_LEN, DecodeError};
pub use error_code::{ErrorCode, UnknownErrorCode};
pub use ids::{BadDocumentId, DocumentId, PeerId, StorageId};
pub use message::{HeadsInfo, Message, PeerMetadata};
