//! Reference behaviour for shells and tests (feature `testing`): an in-memory client store,
//! the storage conformance suite every store must pass, and [`Device`], the one generic loop
//! that carries out a session's outputs against a synchronous store and a [`Link`].

mod conformance;
mod device;
mod memory_store;

pub use conformance::{Case, Expect, Step, cases, run_sync};
pub use device::{Device, DeviceError, Link, LinkAction};
pub use memory_store::MemoryStore;

use crate::client::{ClientStorageOp, StorageReply};

/// A store that answers the core's storage ops synchronously (SQLite natively, memory).
/// Browser stores are asynchronous: they run the same [`cases`] with a loop of their own.
pub trait ClientStore {
    /// Carries out one op as one atomic step. `Err` describes a failure; the store is left
    /// as it was before the op.
    fn run(&mut self, op: &ClientStorageOp) -> Result<StorageReply, String>;
}
