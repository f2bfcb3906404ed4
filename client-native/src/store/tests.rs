//! The store against real SQLite files.

use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::model::Page;
use sync_core::protocol::DocumentId;
use sync_core::testing::ClientStore;

use super::*;

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
fn many_documents_share_one_file() {
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
    assert_eq!(store.list_documents().unwrap().len(), 20);
    for n in 0..20 {
        let stored = store.load(doc(n)).unwrap();
        let page = Page::load(&stored.bytes, [99; 16]).unwrap();
        assert_eq!(page.title(), format!("page {n}"));
    }
}

#[test]
fn storage_id_is_stable_and_migrations_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let first = Store::open(&path, Durability::Full)
        .unwrap()
        .storage_id()
        .clone();
    let again = Store::open(&path, Durability::Full).unwrap();
    assert_eq!(again.storage_id(), &first);
    assert_eq!(
        migrations::current_version(&again.conn).unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
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
fn a_failed_write_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db"), Durability::Full).unwrap();
    // Fails the chunk insert, after the document row was written in the same transaction.
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER fail BEFORE INSERT ON doc_chunks
             BEGIN SELECT RAISE(ABORT, 'injected'); END;",
        )
        .unwrap();
    let err = store.run(&ClientStorageOp::AppendChanges {
        doc: doc(7),
        bytes: vec![1, 2, 3],
    });
    assert!(err.is_err());
    assert_eq!(store.load(doc(7)).unwrap(), StoredDoc::default());
    assert!(
        store.list_documents().unwrap().is_empty(),
        "rolled back whole"
    );
}
