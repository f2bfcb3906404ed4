//! Tessera for desktop apps: a uniffi facade over `client-native` that generates Python,
//! Kotlin and Swift bindings (`import tessera`).
//!
//! It owns nothing but translation: uniffi records and enums for the core's `PageEdit`,
//! `ClientStatus` and page view; one error enum carrying the relay's code; host callbacks
//! (listeners, the token provider) adapted to client-native's plain callbacks; and the tokio
//! runtime client-native's tasks run on. It must never decide anything about sync or storage:
//! what it cannot express with client-native's API is missing there, not here.
//!
//! Every export that waits is async: it spawns its work on the runtime and awaits the join
//! handle, so a panic stays inside Tessera and comes back as `TesseraError::Internal`.

mod callbacks;
mod document;
mod edit;
mod error;
mod runtime;
mod status;
mod tessera;
mod view;

pub use callbacks::{Change, DocumentListener, Subscription, TokenProvider};
pub use document::Document;
pub use edit::{Applied, BlockKind, MarkName, MarkSpec, PageEdit, Target, edit_from_json};
pub use error::{Result, TesseraError};
pub use status::{ClientStatus, ErrorCode, SyncStatus, error_code_name};
pub use tessera::{DocSummary, Tessera};
pub use view::{BlockView, MarkView, PageView};

uniffi::setup_scaffolding!("tessera");
