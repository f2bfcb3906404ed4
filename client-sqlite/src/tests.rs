//! The store against real SQLite files (bundled SQLite, natively).

use rusqlite::Connection;
use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::protocol::DocumentId;
use sync_core::testing::ClientStore;

use crate::{Error, Journal, Pragmas, SCHEMA_VERSION, SqlStore, Synchronous, migrations};

fn doc(n: u8) -> DocumentId {
    DocumentId::from_random_bytes([n; 16])
}

const ROLLBACK: Pragmas = Pragmas {
    journal: Journal::Delete,
    synchronous: Synchronous::Full,
};

fn open(path: &std::path::Path, pragmas: Pragmas) -> crate::Result<SqlStore> {
    SqlStore::open(Connection::open(path)?, pragmas, || "fresh-id".into())
}

/// The store on a real file reopened between steps, in one journal mode.
struct OnDisk {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    pragmas: Pragmas,
    store: SqlStore,
}

impl ClientStore for OnDisk {
    fn run(&mut self, op: &ClientStorageOp) -> Result<StorageReply, String> {
        self.store.run(op, 1).map_err(|e| e.to_string())
    }
}

fn conformance(pragmas: Pragmas) {
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = open(&path, pragmas).unwrap();
        OnDisk {
            _dir: dir,
            path,
            pragmas,
            store,
        }
    };
    let reopen = |disk: OnDisk| {
        let OnDisk {
            _dir,
            path,
            pragmas,
            store,
        } = disk;
        drop(store);
        let store = open(&path, pragmas).unwrap();
        OnDisk {
            _dir,
            path,
            pragmas,
            store,
        }
    };
    sync_core::testing::run_sync(fresh, reopen).unwrap();
}

#[test]
fn passes_the_storage_conformance_suite_with_a_rollback_journal() {
    conformance(ROLLBACK);
}

#[test]
fn passes_the_storage_conformance_suite_with_wal() {
    conformance(Pragmas {
        journal: Journal::Wal,
        synchronous: Synchronous::Normal,
    });
}

#[test]
fn the_journal_mode_asked_for_is_the_one_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("t.db"), ROLLBACK).unwrap();
    let mode: String = store
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    let sync: i64 = store
        .connection()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "FULL");
}

#[test]
fn storage_id_is_stable_and_migrations_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let first = SqlStore::open(Connection::open(&path).unwrap(), ROLLBACK, || {
        "first".into()
    })
    .unwrap();
    assert_eq!(first.storage_id().as_str(), "first");
    drop(first);
    let again = SqlStore::open(Connection::open(&path).unwrap(), ROLLBACK, || {
        panic!("an existing id is kept, no fresh one is made")
    })
    .unwrap();
    assert_eq!(again.storage_id().as_str(), "first");
    assert_eq!(
        migrations::current_version(again.connection()).unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(open(&path, ROLLBACK).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    // WAL would rewrite the header: the refusal comes before any pragma.
    let err = open(
        &path,
        Pragmas {
            journal: Journal::Wal,
            synchronous: Synchronous::Full,
        },
    )
    .unwrap_err();
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
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was not modified"
    );
}

#[test]
fn a_failed_write_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir.path().join("t.db"), ROLLBACK).unwrap();
    // Fails the chunk insert, after the document row was written in the same transaction.
    store
        .connection()
        .execute_batch(
            "CREATE TEMP TRIGGER fail BEFORE INSERT ON doc_chunks
             BEGIN SELECT RAISE(ABORT, 'injected'); END;",
        )
        .unwrap();
    let err = store.run(
        &ClientStorageOp::AppendChanges {
            doc: doc(7),
            bytes: vec![1, 2, 3],
        },
        1,
    );
    assert!(matches!(err, Err(Error::Sqlite(_))), "{err:?}");
    assert_eq!(store.load(doc(7)).unwrap(), StoredDoc::default());
    assert!(!store.has_document(doc(7)).unwrap(), "rolled back whole");
    assert!(store.list_documents().unwrap().is_empty());
}
