//! Tessera's browser client: a wasm-bindgen shell over [`sync_core::client`].
//!
//! The shell owns IO only: a store (memory or IndexedDB with strict durability), the browser
//! `WebSocket`, one `setTimeout` timer per document, random bytes from `crypto`, and callbacks
//! into JavaScript. Every decision (when to connect, back off, save, ask for a token, what the
//! status is) is the core's: a [`session::Session`] feeds the core's inputs and carries out its
//! outputs in order. It must never depend on the relay's code or decide anything about sync.
//!
//! Several tabs or workers of one origin share one IndexedDB database through one writer: the
//! one holding its lock leads and the others are served by it ([`tabs`]).
//!
//! JavaScript sees [`client::Tessera`] (open a store, create, find and list pages) and
//! [`page::Page`] (read, edit, subscribe, status); the types of every value crossing the
//! boundary are in the generated `.d.ts` ([`ts`]).
#![cfg(target_arch = "wasm32")]

mod client;
mod env;
mod error;
mod handle;
mod local;
mod options;
mod page;
mod session;
mod store;
mod tabs;
mod transport;
mod ts;

pub use client::Tessera;
pub use error::{Error, Result};
pub use page::Page;
pub use ts::is_tessera_error;
