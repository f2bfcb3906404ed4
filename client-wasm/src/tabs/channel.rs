//! A database's `BroadcastChannel`: every context of the origin that opened the database hears
//! every message posted on it (but its own). Incoming messages are read into [`TabMessage`]s
//! ([`read`]) here, once, before any role sees them.

use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::read::{self, CallHeader};
use super::wire::TabMessage;
use crate::error::{Error, Result};

/// What arrived: a message that reads and passes its bounds, or a call to refuse.
pub(crate) enum Incoming {
    Message(TabMessage),
    /// A call that did not read or broke a bound, with why.
    BadCall(CallHeader, Error),
}

/// One open channel; dropping it closes it.
#[derive(Debug)]
pub(crate) struct Channel {
    bc: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    /// Opens the channel of database `key`; `deliver` gets each incoming message. `me` is
    /// this context's id: refused calls addressed to it are delivered as `BadCall`, anything
    /// else refused is dropped with a warning.
    pub(crate) fn open(
        key: &str,
        me: String,
        deliver: impl Fn(Incoming) + 'static,
    ) -> Result<Self> {
        let bc = BroadcastChannel::new(&format!("tessera-tabs:{key}"))
            .map_err(|e| Error::storage(&e))?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            match read::message(&data) {
                Ok(m) => deliver(Incoming::Message(m)),
                Err(why) => match read::header(&data, &me) {
                    Some(h) => deliver(Incoming::BadCall(h, why)),
                    None => web_sys::console::warn_1(
                        &format!("tessera: dropped a message from another tab: {why}").into(),
                    ),
                },
            }
        });
        bc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Ok(Self {
            bc,
            _on_message: on_message,
        })
    }

    pub(crate) fn post(&self, message: &TabMessage) {
        let ser = serde_wasm_bindgen::Serializer::json_compatible();
        match message.serialize(&ser) {
            Ok(js) => {
                if let Err(e) = self.bc.post_message(&js) {
                    web_sys::console::error_2(&"tessera: posting to other tabs failed".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&format!("tessera: {e}").into()),
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.bc.set_onmessage(None);
        self.bc.close();
    }
}
