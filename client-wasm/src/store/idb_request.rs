//! IndexedDB's callbacks as futures: a request's success or error, a transaction's commit,
//! and read-write transactions that ask for `durability: "strict"` (flushed to disk before
//! `complete` fires, where the browser supports the option; web-sys marks it unstable, so it
//! is bound here).

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

use crate::error::{Error, describe};

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase`, for its `transaction` with options.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;
    #[wasm_bindgen(method, js_name = transaction, catch)]
    fn transaction_with_options(
        this: &DatabaseWithOptions,
        stores: &Array,
        mode: &str,
        options: &Object,
    ) -> Result<IdbTransaction, JsValue>;
}

/// A transaction over `stores`: read-only, or read-write with strict durability.
pub(super) fn transaction(
    db: &IdbDatabase,
    stores: &[&str],
    write: bool,
) -> Result<IdbTransaction, Error> {
    let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    if !write {
        return db
            .transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readonly)
            .map_err(|e| Error::storage(&e));
    }
    let options = Object::new();
    Reflect::set(&options, &"durability".into(), &"strict".into())
        .map_err(|e| Error::storage(&e))?;
    db.unchecked_ref::<DatabaseWithOptions>()
        .transaction_with_options(&names, "readwrite", &options)
        .map_err(|e| Error::storage(&e))
}

/// The request's result once it succeeded.
pub(super) async fn request(req: IdbRequest) -> Result<JsValue, Error> {
    let done = Promise::new(&mut |resolve: Function, reject: Function| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(done).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    match outcome {
        Ok(_) => req.result().map_err(|e| Error::storage(&e)),
        Err(_) => Err(Error::Storage(request_error(&req))),
    }
}

/// Waits for the transaction to commit; an error or abort fails it (and nothing of it was
/// written).
pub(super) async fn committed(tx: &IdbTransaction) -> Result<(), Error> {
    let done = Promise::new(&mut |resolve: Function, reject: Function| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onerror(Some(&reject));
        tx.set_onabort(Some(&reject));
    });
    let outcome = JsFuture::from(done).await;
    tx.set_oncomplete(None);
    tx.set_onerror(None);
    tx.set_onabort(None);
    outcome.map(|_| ()).map_err(|_| {
        let why = tx
            .error()
            .map(|e| format!("{}: {}", e.name(), e.message()))
            .unwrap_or_else(|| "the transaction was aborted".to_owned());
        Error::Storage(why)
    })
}

fn request_error(req: &IdbRequest) -> String {
    match req.error() {
        Ok(Some(e)) => format!("{}: {}", e.name(), e.message()),
        Ok(None) => "the request failed".to_owned(),
        Err(e) => describe(&e),
    }
}
