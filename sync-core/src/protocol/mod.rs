//! The wire protocol: the automerge-repo WebSocket protocol v1, plus Tessera's extensions.
//!
//! Every binary WebSocket frame carries one CBOR map, a [`Message`]. [`Message::decode`] accepts
//! what real peers send (the JS client's cbor-x output, samod, older clients; see the tolerance
//! list in `decode.rs`), and [`Message::encode`] writes canonical bytes that stock clients read.
//! Golden fixtures in `tests/fixtures/wire/` pin the encoding of every message type.
//!
//! Extensions, which stock clients ignore because they skip unknown `type`s:
//! - `error` may carry a machine-readable [`ErrorCode`] and `retryAfterMs`;
//! - `ack` tells a client the relay stored its changes durably; only peers that declare they
//!   read it (`tesseraAcks: true` in the `join`'s `peerMetadata`, a key stock peers skip) are
//!   sent one;
//! - `fragment` carries a piece of a frame too large to send whole.
//!
//! Frames over the transport's size limit are handled in two steps: [`split_sync_data`] turns
//! one large automerge sync message into several smaller ones that any automerge peer accepts in
//! sequence, and only a frame that still does not fit (one huge change) is cut into `fragment`s
//! with [`fragment()`] and put back together by a [`Reassembler`], which only Tessera peers have.
//!
//! Nothing here does IO: callers hand in bytes and get bytes back.

mod decode;
mod encode;
mod error_code;
mod fragment;
mod http_refusal;
mod ids;
pub mod limits;
mod message;
mod read;
mod reassemble;
pub mod routes;
mod split;

pub use decode::{DEFAULT_MAX_FRAME_LEN, DecodeError};
pub use error_code::{ErrorCode, UnknownErrorCode};
pub use fragment::{FragmentError, fragment};
pub use http_refusal::HttpRefusal;
pub use ids::{BadDocumentId, DocumentId, PeerId, StorageId};
pub use message::{HeadsInfo, Message, PeerMetadata};
pub use reassemble::{Reassembler, ReassemblyError, ReassemblyLimits};
pub use routes::{Route, RouteError};
pub use split::{SplitError, max_sync_data_len, split_sync_data};
