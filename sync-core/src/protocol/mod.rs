//! The wire protocol: the automerge-repo WebSocket protocol v1, plus Tessera's extensions.

mod error_code;
mod ids;

pub use error_code::{ErrorCode, UnknownErrorCode};
pub use ids::{BadDocumentId, DocumentId, PeerId, StorageId};
