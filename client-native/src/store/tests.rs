//! The native store on real files. The schema and the ops are `client-sqlite`'s and tested
//! there; these check the file this shell opens and how its errors surface.

use rusqlite::Connection;
use sync_core::client::{ClientStorageOp, StorageReply};
use sync_core::model::Page;
use sync_core::protocol::DocumentId;
use sync_core::testing::ClientStore;

use super::*;
use crate::error::Error;

fn doc(n: u8) -> DocumentId {
    DocumentId::from_random_bytes([n; 16])
}

/// The store under the core's conformance suite, on a real file reopened between steps.
struct OnDisk {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Store,
}

impl ClientStore for OnDisk {
    fn run(&mut self, op: &ClientStorageOp) -> std::result::Result<StorageReply, String> {
        self.store.run(op).map_err(|e| e.to_string())
    }
}

#[test]
fn sqlite_passes_the_storage_conformance_suite() {
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path, Durability::Full).unwrap();
        OnDisk {
            _dir: dir,
            path,
            store,
        }
    };
    let reopen = |disk: OnDisk| {
        let OnDisk { _dir, path, store } = disk;
        drop(store);
        let store = Store::open(&path, Durability::Full).unwrap();
        OnDisk { _dir, path, store }
    };
    sync_core::testing::run_sync(fresh, reopen).unwrap();
}

#[test]
fn the_file_is_in_wal_mode_and_many_documents_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let mut store = Store::open(&path, Durability::Full).unwrap();
        for n in 0..20 {
            let mut page = Page::create([n; 16], &format!("page {n}"));
            let bytes = page.doc_mut().save();
            store
                .run(&ClientStorageOp::ReplaceWithSnapshot { doc: doc(n), bytes })
                .unwrap();
        }
    }
    let store = Store::open(&path, Durability::Normal).unwrap();
    let mode: String = store
        .inner
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(store.list_documents().unwrap().len(), 20);
    for n in 0..20 {
        assert!(store.has_document(doc(n)).unwrap());
        let stored = store.load(doc(n)).unwrap();
        let page = Page::load(&stored.bytes, [99; 16]).unwrap();
        assert_eq!(page.title(), format!("page {n}"));
    }
}

#[test]
fn the_storage_id_is_random_per_file_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let first = Store::open(&a, Durability::Full)
        .unwrap()
        .storage_id()
        .clone();
    assert_eq!(first.as_str().len(), 32);
    let again = Store::open(&a, Durability::Full).unwrap();
    assert_eq!(again.storage_id(), &first);
    let other = Store::open(&b, Durability::Full).unwrap();
    assert_ne!(other.storage_id(), &first);
}

#[test]
fn a_newer_schema_is_refused_with_the_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(Store::open(&path, Durability::Full).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
        // Leave the file in rollback-journal mode so any rewrite would show.
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path, Durability::Full).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NewerSchema {
                found: 99,
                supported: SCHEMA_VERSION
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade tessera"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was not modified"
    );
}

#[test]
fn an_engine_failure_is_an_opaque_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    std::fs::write(
        &path,
        b"this is not a SQLite database, it is long enough to look",
    )
    .unwrap();
    let err = Store::open(&path, Durability::Full).unwrap_err();
    assert!(matches!(err, Error::Storage(_)), "{err:?}");
}
