//! One database on OPFS: a sahpool VFS of its own per database name (its own OPFS
//! directory, so two names never share access handles), and the database file in it.

use client_sqlite::{Journal, Pragmas, SqlStore, Synchronous};
use js_sys::{Function, Promise, Reflect};
use rusqlite::{Connection, OpenFlags};
use sqlite_wasm_rs::WasmOsCallback;
use sqlite_wasm_vfs::sahpool::{OpfsSAHError, OpfsSAHPoolCfgBuilder, OpfsSAHPoolUtil, install};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};

/// sahpool has no shared memory, so no WAL; a rollback journal deleted at each commit, and
/// each commit flushed (`FileSystemSyncAccessHandle.flush`) before it is answered.
pub const PRAGMAS: Pragmas = Pragmas {
    journal: Journal::Delete,
    synchronous: Synchronous::Full,
};

/// The database's name inside its pool.
const FILE: &str = "/tessera.db";

/// After a tab is killed, the browser releases its Web Lock and its access handles in no
/// set order: the next opener, holding the lock, may briefly find the handles still taken.
const HANDLE_RETRIES: u32 = 20;
const HANDLE_RETRY_MS: i32 = 100;

/// An open database and the pool holding its files.
pub struct OpenDb {
    /// The store.
    pub store: SqlStore,
    pool: OpfsSAHPoolUtil,
}

/// The OPFS directory of database `name`: bytes other than ASCII letters, digits and `-`
/// are written as `_` and two hex digits, so every name maps to one plain directory name.
pub fn directory(name: &str) -> String {
    let mut dir = String::from("tessera-sqlite/");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            dir.push(b as char);
        } else {
            dir.push_str(&format!("_{b:02x}"));
        }
    }
    dir
}

/// Installs the database's pool (taking its access handles) and opens the database.
pub async fn open(name: &str, fresh_id: String) -> Result<OpenDb> {
    let dir = directory(name);
    let vfs = format!("tessera:{dir}");
    let cfg = OpfsSAHPoolCfgBuilder::new()
        .vfs_name(&vfs)
        .directory(&dir)
        .build();
    let mut attempt = 0;
    let pool = loop {
        match install::<WasmOsCallback>(&cfg, false).await {
            Ok(pool) => break pool,
            Err(OpfsSAHError::NotSupported) => {
                return Err(Error::Unsupported(OpfsSAHError::NotSupported.to_string()));
            }
            Err(e @ OpfsSAHError::Opfs { .. }) if attempt < HANDLE_RETRIES && held(&e) => {
                attempt += 1;
                sleep(HANDLE_RETRY_MS).await;
            }
            Err(e) if held(&e) => return Err(Error::Busy(e.to_string())),
            Err(e) => return Err(Error::Opfs(e.to_string())),
        }
    };
    // A pool this worker closed earlier is still installed, paused: take its handles again.
    if pool.is_paused() {
        pool.resume()
            .await
            .map_err(|e| Error::Opfs(e.to_string()))?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let opened = Connection::open_with_flags_and_vfs(FILE, flags, vfs.as_str())
        .map_err(client_sqlite::Error::from)
        .and_then(|conn| SqlStore::open(conn, PRAGMAS, || fresh_id));
    match opened {
        Ok(store) => Ok(OpenDb { store, pool }),
        Err(e) => {
            // Hand the files back: the worker is about to be ended.
            let _ = pool.pause();
            Err(e.into())
        }
    }
}

impl std::fmt::Debug for OpenDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenDb")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl OpenDb {
    /// Closes the database, then releases its access handles, so another context can open
    /// it as soon as this returns.
    pub fn close(self) -> Result<()> {
        let Self { store, pool } = self;
        drop(store);
        pool.pause().map_err(|e| Error::Opfs(e.to_string()))
    }
}

/// Whether OPFS refused an access handle because another context holds it.
fn held(e: &OpfsSAHError) -> bool {
    matches!(e, OpfsSAHError::Opfs { message, .. } if message.contains("NoModificationAllowedError"))
}

async fn sleep(ms: i32) {
    let global = js_sys::global();
    let set_timeout: Option<Function> = Reflect::get(&global, &"setTimeout".into())
        .ok()
        .and_then(|f| f.dyn_into().ok());
    let Some(set_timeout) = set_timeout else {
        return;
    };
    let done = Promise::new(&mut |resolve, _| {
        let _ = set_timeout.call2(&JsValue::UNDEFINED, &resolve, &ms.into());
    });
    let _ = JsFuture::from(done).await;
}
