//! The IndexedDB store: one database per app-chosen name, with strict durability.
//!
//! Object stores (schema version 1):
//! - `meta`: out-of-line keys; `storage_id` is this database's stable id.
//! - `docs`: `{id}` with auto-increment keys (their order is "oldest first" for `List`) and
//!   a unique index `by_id`.
//! - `chunks`: `{doc, bytes}` with auto-increment keys and an index `by_doc`; an index
//!   lists equal keys in primary-key order, which is write order.
//! - `sync`: `{doc, peer, bytes}` keyed by `[doc, peer]`, with an index `by_doc`.
//!
//! Each op is one transaction, so a crash or a killed tab leaves all of it or none of it. The
//! store holds the database's Web Lock while open: one writer per database.

use std::cell::RefCell;
use std::collections::BTreeMap;

use js_sys::{Array, Object, Reflect, Uint8Array};
use sync_core::client::{ClientStorageOp, StorageReply, StoredDoc};
use sync_core::protocol::{DocumentId, StorageId};
use wasm_bindgen::prelude::*;
use web_sys::{
    IdbDatabase, IdbFactory, IdbIndexParameters, IdbObjectStoreParameters, IdbOpenDbRequest,
    IdbTransaction,
};

use super::idb_request::{committed, request, transaction};
use super::lock::DbLock;
use crate::env;
use crate::error::{Error, Result};

const SCHEMA_VERSION: u32 = 1;
const META: &str = "meta";
const DOCS: &str = "docs";
const CHUNKS: &str = "chunks";
const SYNC: &str = "sync";
const BY_ID: &str = "by_id";
const BY_DOC: &str = "by_doc";

/// An open IndexedDB database.
#[derive(Debug)]
pub(crate) struct IdbStore {
    db: IdbDatabase,
    storage_id: StorageId,
    lock: RefCell<DbLock>,
}

impl IdbStore {
    /// Opens (creating or upgrading) the database `name` in this context's IndexedDB.
    pub(crate) async fn open(name: &str) -> Result<Self> {
        let factory: IdbFactory = factory()
            .ok_or_else(|| {
                Error::StorageUnavailable("IndexedDB is not available in this context".into())
            })?
            .unchecked_into();
        let lock = DbLock::take(&format!("tessera-indexeddb:{name}"), name).await?;
        let req = factory
            .open_with_u32(name, SCHEMA_VERSION)
            .map_err(|e| Error::storage(&e))?;
        let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new({
            let req = req.clone();
            move |_| {
                if let Err(e) = create_schema(&req) {
                    web_sys::console::error_1(&e);
                }
            }
        });
        req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = request(req.clone().unchecked_into()).await;
        req.set_onupgradeneeded(None);
        drop(upgrade);
        let db: IdbDatabase = db?.unchecked_into();
        let storage_id = storage_id(&db).await?;
        Ok(Self {
            db,
            storage_id,
            lock: RefCell::new(lock),
        })
    }

    pub(crate) fn storage_id(&self) -> StorageId {
        self.storage_id.clone()
    }

    /// Closes the database and lets go of its lock (another context may open it then).
    pub(crate) async fn close(&self) {
        self.db.close();
        let released = self.lock.borrow_mut().release();
        released.await;
    }

    pub(crate) async fn run(&self, op: &ClientStorageOp) -> Result<StorageReply> {
        match op {
            ClientStorageOp::Load { doc } => self.load(doc).await.map(StorageReply::Loaded),
            ClientStorageOp::AppendChanges { doc, bytes } => {
                self.write_chunk(doc, bytes, false).await?;
                Ok(StorageReply::Done)
            }
            ClientStorageOp::ReplaceWithSnapshot { doc, bytes } => {
                self.write_chunk(doc, bytes, true).await?;
                Ok(StorageReply::Done)
            }
            ClientStorageOp::PutSyncState { doc, peer, bytes } => {
                let tx = transaction(&self.db, &[DOCS, SYNC], true)?;
                // A sync state alone records the document (it is still to be fetched).
                record_doc(&tx, doc).await?;
                let row = record(&[
                    ("doc", doc.to_string().into()),
                    ("peer", peer.as_str().into()),
                    ("bytes", Uint8Array::from(bytes.as_slice()).into()),
                ]);
                let store = tx.object_store(SYNC).map_err(|e| Error::storage(&e))?;
                store.put(&row).map_err(|e| Error::storage(&e))?;
                committed(&tx).await?;
                Ok(StorageReply::Done)
            }
            ClientStorageOp::List => self.list().await.map(StorageReply::Listed),
        }
    }

    async fn load(&self, doc: &DocumentId) -> Result<StoredDoc> {
        let tx = transaction(&self.db, &[CHUNKS, SYNC], false)?;
        let key = JsValue::from_str(&doc.to_string());
        let chunks = request(index_get_all(&tx, CHUNKS, &key)?).await?;
        let syncs = request(index_get_all(&tx, SYNC, &key)?).await?;
        committed(&tx).await?;
        let chunks: Array = chunks.unchecked_into();
        let mut stored = StoredDoc {
            chunks: chunks.length(),
            ..StoredDoc::default()
        };
        for row in chunks.iter() {
            stored.bytes.extend(bytes_of(&row)?);
        }
        let mut sync_states = BTreeMap::new();
        for row in Array::from(&syncs).iter() {
            let peer = field(&row, "peer")?
                .as_string()
                .ok_or_else(|| Error::Storage("a sync state row has no peer".into()))?;
            sync_states.insert(StorageId::from(peer), bytes_of(&row)?);
        }
        stored.sync_states = sync_states;
        Ok(stored)
    }

    /// Appends a chunk, or replaces every chunk of the document with it; records the
    /// document if it is new. One transaction.
    async fn write_chunk(&self, doc: &DocumentId, bytes: &[u8], replace: bool) -> Result<()> {
        let tx = transaction(&self.db, &[DOCS, CHUNKS], true)?;
        let id = JsValue::from_str(&doc.to_string());
        record_doc(&tx, doc).await?;
        let chunks = tx.object_store(CHUNKS).map_err(|e| Error::storage(&e))?;
        if replace {
            let by_doc = chunks.index(BY_DOC).map_err(|e| Error::storage(&e))?;
            let keys = request(
                by_doc
                    .get_all_keys_with_key(&id)
                    .map_err(|e| Error::storage(&e))?,
            )
            .await?;
            for key in Array::from(&keys).iter() {
                chunks.delete(&key).map_err(|e| Error::storage(&e))?;
            }
        }
        let row = record(&[("doc", id), ("bytes", Uint8Array::from(bytes).into())]);
        chunks.add(&row).map_err(|e| Error::storage(&e))?;
        committed(&tx).await
    }

    async fn list(&self) -> Result<Vec<DocumentId>> {
        let tx = transaction(&self.db, &[DOCS], false)?;
        let store = tx.object_store(DOCS).map_err(|e| Error::storage(&e))?;
        let rows = request(store.get_all().map_err(|e| Error::storage(&e))?).await?;
        committed(&tx).await?;
        Array::from(&rows)
            .iter()
            .map(|row| {
                let id = field(&row, "id")?.as_string().unwrap_or_default();
                DocumentId::parse_url_or_id(&id)
                    .map_err(|e| Error::Storage(format!("a stored document id {id:?}: {e}")))
            })
            .collect()
    }
}

/// Whether this context has IndexedDB (Node has none).
pub(crate) fn available() -> bool {
    factory().is_some()
}

fn factory() -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .filter(|f| !f.is_undefined() && !f.is_null())
}

/// Records the document in `docs` if it is new, inside `tx`.
async fn record_doc(tx: &IdbTransaction, doc: &DocumentId) -> Result<()> {
    let id = JsValue::from_str(&doc.to_string());
    let docs = tx.object_store(DOCS).map_err(|e| Error::storage(&e))?;
    let by_id = docs.index(BY_ID).map_err(|e| Error::storage(&e))?;
    let known = request(by_id.get_key(&id).map_err(|e| Error::storage(&e))?).await?;
    if known.is_undefined() {
        docs.add(&record(&[("id", id)]))
            .map_err(|e| Error::storage(&e))?;
    }
    Ok(())
}

/// Creates the object stores of an empty database (the only upgrade so far is from
/// nothing to version 1).
fn create_schema(req: &IdbOpenDbRequest) -> std::result::Result<(), JsValue> {
    let db: IdbDatabase = req.result()?.unchecked_into();
    if db.object_store_names().contains(META) {
        return Ok(());
    }
    db.create_object_store(META)?;
    let auto = IdbObjectStoreParameters::new();
    auto.set_auto_increment(true);
    let docs = db.create_object_store_with_optional_parameters(DOCS, &auto)?;
    let unique = IdbIndexParameters::new();
    unique.set_unique(true);
    docs.create_index_with_str_and_optional_parameters(BY_ID, "id", &unique)?;
    let chunks = db.create_object_store_with_optional_parameters(CHUNKS, &auto)?;
    chunks.create_index_with_str(BY_DOC, "doc")?;
    let keyed = IdbObjectStoreParameters::new();
    let path: Array = ["doc", "peer"]
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect();
    keyed.set_key_path(&path);
    let sync = db.create_object_store_with_optional_parameters(SYNC, &keyed)?;
    sync.create_index_with_str(BY_DOC, "doc")?;
    Ok(())
}

/// The database's storage id, made and stored on first open.
async fn storage_id(db: &IdbDatabase) -> Result<StorageId> {
    let key = JsValue::from_str("storage_id");
    let tx = transaction(db, &[META], true)?;
    let meta = tx.object_store(META).map_err(|e| Error::storage(&e))?;
    let found = request(meta.get(&key).map_err(|e| Error::storage(&e))?).await?;
    let id = match found.as_string() {
        Some(id) => id,
        None => {
            let id = format!("idb-{}", env::hex(&env::random::<16>()));
            meta.put_with_key(&JsValue::from_str(&id), &key)
                .map_err(|e| Error::storage(&e))?;
            id
        }
    };
    committed(&tx).await?;
    Ok(StorageId::from(id))
}

fn index_get_all(tx: &IdbTransaction, store: &str, key: &JsValue) -> Result<web_sys::IdbRequest> {
    tx.object_store(store)
        .and_then(|s| s.index(BY_DOC))
        .and_then(|i| i.get_all_with_key(key))
        .map_err(|e| Error::storage(&e))
}

fn record(fields: &[(&str, JsValue)]) -> Object {
    let obj = Object::new();
    for (k, v) in fields {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&obj, &JsValue::from_str(k), v);
    }
    obj
}

fn field(row: &JsValue, name: &str) -> Result<JsValue> {
    Reflect::get(row, &JsValue::from_str(name)).map_err(|e| Error::storage(&e))
}

fn bytes_of(row: &JsValue) -> Result<Vec<u8>> {
    let bytes = field(row, "bytes")?;
    bytes
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| Error::Storage("a stored row has no bytes".into()))
}
