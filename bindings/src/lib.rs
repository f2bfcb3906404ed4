//! Tessera for desktop apps: a uniffi facade over `client-native` that generates Python,
//! Kotlin and Swift bindings (`import tessera`).
//!
//! It owns nothing but translation: uniffi records and enums for the core's `PageEdit`,
//! `ClientStatus` and page view; one error enum carrying the relay's code; host callbacks
//! (listeners, the token provider) adapted to client-native's plain callbacks; and a tokio
//! runtime that client-native's tasks run on. It must never decide anything about sync or
//! storage: what it cannot express with client-native's API is missing there, not here.

mod edit;
mod error;
mod status;
mod view;

pub use edit::{Applied, BlockKind, MarkName, MarkSpec, PageEdit, Target, edit_from_json};
pub use error::{Result, TesseraError};
pub use status::{ClientStatus, ErrorCode, SyncStatus, error_code_name};
pub use view::{BlockView, MarkView, PageView};

uniffi::setup_scaffolding!("tessera");
