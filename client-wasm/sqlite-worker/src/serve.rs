//! The worker's message loop: one database, requests answered in arrival order.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::error::Error;
use crate::messages::{self, Request};
use crate::opfs::{self, OpenDb};

/// Where the worker's one database is.
#[derive(Debug)]
enum State {
    /// Nothing opened yet.
    Idle,
    /// `open` is installing the pool.
    Opening,
    /// Open.
    Open(OpenDb),
    /// Closed for good (or its open failed): the page ends this worker.
    Closed,
}

/// Starts answering the page's requests (call once, after `init()`, in a dedicated worker).
#[wasm_bindgen(js_name = serveSqlite)]
pub fn serve() -> Result<(), JsValue> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global()
        .dyn_into()
        .map_err(|_| JsValue::from_str("serveSqlite runs in a dedicated worker only"))?;
    let state = Rc::new(RefCell::new(State::Idle));
    let reply_to = scope.clone();
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let state = state.clone();
        let scope = reply_to.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (reply, transfer) = handle(&state, &event.data()).await;
            if scope.post_message_with_transfer(&reply, &transfer).is_err() {
                web_sys::console::error_1(&"tessera sqlite worker: cannot post a reply".into());
            }
        });
    });
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    handler.forget();
    Ok(())
}

async fn handle(state: &RefCell<State>, data: &JsValue) -> (JsValue, Array) {
    let (id, request) = match messages::decode(data) {
        Ok(r) => r,
        Err((id, e)) => return (messages::err(id, &e).into(), Array::new()),
    };
    let answer = match request {
        Request::Open { name, fresh_id } => {
            if !matches!(*state.borrow(), State::Idle) {
                Err(Error::BadMessage(
                    "this worker has opened a database already".into(),
                ))
            } else {
                state.replace(State::Opening);
                match opfs::open(&name, fresh_id).await {
                    Ok(db) => {
                        let value = messages::opened(db.store.storage_id());
                        state.replace(State::Open(db));
                        Ok((value, Array::new()))
                    }
                    Err(e) => {
                        state.replace(State::Closed);
                        Err(e)
                    }
                }
            }
        }
        Request::Run(op) => match &mut *state.borrow_mut() {
            State::Open(db) => db
                .store
                .run(&op, js_sys::Date::now() as u64)
                .map(|reply| messages::reply(&reply))
                .map_err(Error::from),
            _ => Err(Error::NotOpen),
        },
        Request::Close => match state.replace(State::Closed) {
            State::Open(db) => db.close().map(|()| (messages::closed(), Array::new())),
            _ => Ok((messages::closed(), Array::new())),
        },
    };
    match answer {
        Ok((value, transfer)) => (messages::ok(id, &value).into(), transfer),
        Err(e) => (messages::err(Some(id), &e).into(), Array::new()),
    }
}
