//! The store against real SQLite files.

use sync_core::client::ClientStorageOp;
use sync_core::model::Page;
use sync_core::protocol::{DocumentId, StorageId};

use super::*;

fn doc(n: u8) -> DocumentId {
    DocumentId::from_random_bytes([n; 16])
}

#[test]
fn appended_changes_survive_reopen_and_many_docs_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut expected = Vec::new();
    {
        let mut store = Store::open(&path, Durability::Full).unwrap();
        for n in 0..20 {
            let mut page = Page::create([n; 16], &format!("page {n}"));
            store
                .create_document(doc(n), Some(&page.doc_mut().save()))
                .unwrap();
            let before = page.doc_mut().get_heads();
            page.set_title(&format!("renamed {n}")).unwrap();
            let bytes = page.doc_mut().save_after(&before);
            store
                .apply(&ClientStorageOp::AppendChanges { doc: doc(n), bytes })
                .unwrap();
            expected.push(page.title());
        }
    }
    let store = Store::open(&path, Durability::Full).unwrap();
    assert_eq!(store.list_documents().unwrap().len(), 20);
    for n in 0..20 {
        let (bytes, chunks) = store.load_bytes(doc(n)).unwrap();
        assert_eq!(chunks, 2);
        let page = Page::load(&bytes, [99; 16]).unwrap();
        assert_eq!(page.title(), expected[n as usize]);
    }
}

#[test]
fn snapshot_replaces_chunks_and_sync_states_upsert() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
    let mut page = Page::create([1; 16], "x");
    store
        .create_document(doc(1), Some(&page.doc_mut().save()))
        .unwrap();
    store
        .apply(&ClientStorageOp::AppendChanges {
            doc: doc(1),
            bytes: Vec::new(),
        })
        .unwrap();
    store
        .apply(&ClientStorageOp::ReplaceWithSnapshot {
            doc: doc(1),
            bytes: page.doc_mut().save(),
        })
        .unwrap();
    assert_eq!(store.load_bytes(doc(1)).unwrap().1, 1);
    for bytes in [vec![1], vec![2, 3]] {
        store
            .apply(&ClientStorageOp::PutSyncState {
                doc: doc(1),
                peer: StorageId::from("relay"),
                bytes,
            })
            .unwrap();
    }
    let states = store.sync_states(doc(1)).unwrap();
    assert_eq!(states.get(&StorageId::from("relay")), Some(&vec![2, 3]));
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
    // The foreign key refuses chunks of a document that was never created.
    let err = store.apply(&ClientStorageOp::AppendChanges {
        doc: doc(7),
        bytes: vec![1, 2, 3],
    });
    assert!(err.is_err());
    assert_eq!(store.load_bytes(doc(7)).unwrap(), (Vec::new(), 0));
}
