//! The store's one error type.

/// What opening or running the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed (full disk, a damaged file, a file locked by another process, ...). A
    /// failed write changed nothing; the core keeps its data dirty and retries. Persistent
    /// failures need the file checked or restored.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer schema; it is left untouched. Upgrade the
    /// application.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade tessera, the file was not modified"
    )]
    NewerSchema {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
