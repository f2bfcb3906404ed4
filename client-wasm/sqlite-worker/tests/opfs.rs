//! The SQLite store on OPFS (sahpool) in a real dedicated worker of headless Chromium
//! (wasm-bindgen-test-runner through chromedriver; see mk/wasm.mk), and the worker's message
//! checks.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Reflect, Uint8Array};
use sync_core::client::ClientStorageOp;
use sync_core::testing::{Step, cases};
use tessera_sqlite::messages::{self, MAX_CHUNK, Request};
use tessera_sqlite::opfs;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

/// An op's name, for failure messages (the ops hold megabytes).
fn name(op: &ClientStorageOp) -> String {
    format!("{op:?}").chars().take(60).collect()
}

#[wasm_bindgen_test]
async fn sqlite_on_opfs_passes_the_storage_conformance_suite() {
    let mut reopens = 0;
    for (n, case) in cases().into_iter().enumerate() {
        let db_name = unique(&format!("conformance {n}/é"));
        let mut db = opfs::open(&db_name, "fresh".into()).await.expect("open");
        assert_eq!(db.store.storage_id().as_str(), "fresh");
        for (i, step) in case.steps.into_iter().enumerate() {
            match step {
                Step::Reopen => {
                    db.close().expect("close");
                    db = opfs::open(&db_name, "not used".into())
                        .await
                        .expect("reopen");
                    assert_eq!(db.store.storage_id().as_str(), "fresh", "the id survives");
                    reopens += 1;
                }
                Step::Run(op, expect) => {
                    let answer = db.store.run(&op, 1).map_err(|e| e.to_string());
                    if let Err(e) = expect.check(&answer) {
                        panic!("{}: step {i} ({}): {e}", case.name, name(&op));
                    }
                }
            }
        }
        db.close().expect("close");
    }
    assert!(reopens > 0, "the suite closed and reopened the database");
}

#[wasm_bindgen_test]
async fn the_database_uses_a_rollback_journal_and_the_native_schema() {
    let db = opfs::open(&unique("journal"), "id".into())
        .await
        .expect("open");
    let conn = db.store.connection();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "sahpool has no WAL");
    let version: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, client_sqlite_version());
    db.close().expect("close");
}

fn client_sqlite_version() -> String {
    // The worker links client-sqlite, as client-native does: one schema for both.
    client_sqlite::SCHEMA_VERSION.to_string()
}

#[wasm_bindgen_test]
fn names_map_to_distinct_plain_directories() {
    assert_eq!(opfs::directory("tessera"), "tessera-sqlite/tessera");
    assert_eq!(opfs::directory("a/../b"), "tessera-sqlite/a_2f_2e_2e_2fb");
    assert_ne!(opfs::directory("a_2f"), opfs::directory("a/"));
    assert_ne!(opfs::directory("."), opfs::directory(".."));
}

fn msg(fields: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in fields {
        Reflect::set(&obj, &(*k).into(), v).unwrap();
    }
    obj.into()
}

#[wasm_bindgen_test]
fn requests_are_checked_and_bounded() {
    let doc = sync_core::protocol::DocumentId::from_bytes([7; 16]);
    let op = msg(&[
        ("type", "append".into()),
        ("doc", doc.to_string().into()),
        ("bytes", Uint8Array::from(&b"abc"[..]).into()),
    ]);
    let ok = messages::decode(&msg(&[
        ("id", 3.into()),
        ("kind", "run".into()),
        ("op", op),
    ]));
    assert_eq!(
        ok.unwrap(),
        (
            3,
            Request::Run(ClientStorageOp::AppendChanges {
                doc,
                bytes: b"abc".to_vec()
            })
        )
    );
    let refused = |m: JsValue| messages::decode(&m).unwrap_err();
    assert_eq!(refused(JsValue::from(5)).0, None, "not an object");
    assert_eq!(
        refused(msg(&[("id", 1.5.into())])).0,
        None,
        "a fractional id"
    );
    assert_eq!(
        refused(msg(&[("id", (-1).into())])).0,
        None,
        "a negative id"
    );
    let long = "x".repeat(messages::MAX_NAME + 1);
    for bad in [
        msg(&[("id", 1.into()), ("kind", "drop".into())]),
        msg(&[
            ("id", 1.into()),
            ("kind", "open".into()),
            ("name", long.into()),
            ("freshId", "f".into()),
        ]),
        msg(&[
            ("id", 1.into()),
            ("kind", "open".into()),
            ("name", "".into()),
            ("freshId", "f".into()),
        ]),
        msg(&[
            ("id", 1.into()),
            ("kind", "run".into()),
            (
                "op",
                msg(&[("type", "load".into()), ("doc", "nope".into())]),
            ),
        ]),
        msg(&[
            ("id", 1.into()),
            ("kind", "run".into()),
            (
                "op",
                msg(&[
                    ("type", "append".into()),
                    ("doc", doc.to_string().into()),
                    ("bytes", "abc".into()),
                ]),
            ),
        ]),
        msg(&[
            ("id", 1.into()),
            ("kind", "run".into()),
            (
                "op",
                msg(&[
                    ("type", "append".into()),
                    ("doc", doc.to_string().into()),
                    ("bytes", Uint8Array::new_with_length(MAX_CHUNK + 1).into()),
                ]),
            ),
        ]),
    ] {
        let (id, e) = refused(bad);
        assert_eq!(id, Some(1));
        assert_eq!(e.code(), "failed", "{e}");
    }
}
