//! The browser `WebSocket` as the core's transport: open, binary frames in and out, close.
//! Every event becomes a [`ClientInput`]; the socket sets no timeout of its own (the core has
//! the connect deadline) and makes no decision about what a close means.

use js_sys::{ArrayBuffer, Function, Reflect, Uint8Array};
use sync_core::client::ClientInput;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::error::{Error, Result, describe};

/// One connection attempt and its handlers. Dropping it detaches the handlers and closes the
/// socket, so a late event from an old socket never reaches the session.
#[derive(Debug)]
pub(crate) struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Opens `url` with `ctor` (the context's `WebSocket`, or the app's). Events go to `deliver`.
    pub(crate) fn open(
        ctor: &Function,
        url: &str,
        deliver: impl Fn(ClientInput) + Clone + 'static,
    ) -> std::result::Result<Self, String> {
        let args = js_sys::Array::of1(&JsValue::from_str(url));
        let ws: WebSocket = Reflect::construct(ctor, &args)
            .map_err(|e| describe(&e))?
            .unchecked_into();
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_open = Closure::<dyn FnMut()>::new({
            let deliver = deliver.clone();
            move || deliver(ClientInput::TransportOpened)
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let deliver = deliver.clone();
            move |e: MessageEvent| {
                let data = e.data();
                let bytes = if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
                    Uint8Array::new(buf).to_vec()
                } else if let Some(u8s) = data.dyn_ref::<Uint8Array>() {
                    u8s.to_vec()
                } else {
                    // A text frame is not the protocol; the core's decoder refuses it.
                    data.as_string().unwrap_or_default().into_bytes()
                };
                deliver(ClientInput::Frame(bytes));
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            deliver(ClientInput::TransportClosed {
                code: Some(e.code()),
                reason: e.reason(),
            });
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends a binary frame. A socket that is not open drops it: the core resends what the
    /// relay lacks once connected again.
    pub(crate) fn send(&self, frame: &[u8]) {
        if self.ws.ready_state() == WebSocket::OPEN {
            let _ = self.ws.send_with_u8_array(frame);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The `WebSocket` constructor to use: the app's, else the context's.
pub(crate) fn constructor(given: Option<Function>) -> Result<Function> {
    if let Some(ctor) = given {
        return Ok(ctor);
    }
    Reflect::get(&js_sys::global(), &"WebSocket".into())
        .ok()
        .and_then(|c| c.dyn_into::<Function>().ok())
        .ok_or(Error::NoWebSocket)
}
