//! The core's storage conformance suite on the browser stores, in headless Chromium
//! (`wasm-bindgen-test-runner` through chromedriver; see `mk/wasm.mk`).

use sync_core::client::ClientStorageOp;
use sync_core::testing::{Step, cases};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

use super::{IdbStore, MemoryStore};
use crate::env;

wasm_bindgen_test_configure!(run_in_browser);

/// An op's name, for failure messages (the ops hold megabytes).
fn name(op: &ClientStorageOp) -> String {
    format!("{op:?}").chars().take(60).collect()
}

#[wasm_bindgen_test]
async fn indexed_db_passes_the_storage_conformance_suite() {
    let mut reopens = 0;
    for (n, case) in cases().into_iter().enumerate() {
        let db = format!("conformance-{n}-{}", env::hex(&env::random::<8>()));
        let mut store = IdbStore::open(&db).await.expect("open");
        let id = store.storage_id();
        for (i, step) in case.steps.into_iter().enumerate() {
            match step {
                Step::Reopen => {
                    store.close().await;
                    store = IdbStore::open(&db).await.expect("reopen");
                    assert_eq!(store.storage_id(), id, "the storage id survives a reopen");
                    reopens += 1;
                }
                Step::Run(op, expect) => {
                    let answer = store.run(&op).await.map_err(|e| e.to_string());
                    if let Err(e) = expect.check(&answer) {
                        panic!("{}: step {i} ({}): {e}", case.name, name(&op));
                    }
                }
            }
        }
        store.close().await;
    }
    assert!(reopens > 0, "the suite closed and reopened the database");
}

#[wasm_bindgen_test]
async fn the_memory_store_passes_the_storage_conformance_suite() {
    for case in cases() {
        let store = MemoryStore::new();
        for (i, step) in case.steps.into_iter().enumerate() {
            match step {
                // Memory lives as long as the page: a "reopen" within it keeps the same store.
                Step::Reopen => {}
                Step::Run(op, expect) => {
                    if let Err(e) = expect.check(&Ok(store.run(&op))) {
                        panic!("{}: step {i} ({}): {e}", case.name, name(&op));
                    }
                }
            }
        }
    }
}

#[wasm_bindgen_test]
async fn an_indexed_db_failure_is_an_error_not_a_panic() {
    let db = format!("closed-{}", env::hex(&env::random::<8>()));
    let store = IdbStore::open(&db).await.expect("open");
    store.close().await;
    let answer = store.run(&ClientStorageOp::List).await;
    assert!(answer.is_err(), "{answer:?}");
}

#[wasm_bindgen_test]
async fn one_writer_per_indexed_db_database() {
    let db = format!("locked-{}", env::hex(&env::random::<8>()));
    let first = IdbStore::open(&db).await.expect("open");
    let second = IdbStore::open(&db).await;
    assert!(
        matches!(second, Err(crate::Error::StoreBusy(_))),
        "{second:?}"
    );
    first.close().await;
    let third = IdbStore::open(&db)
        .await
        .expect("open once the first closed");
    third.close().await;
}
