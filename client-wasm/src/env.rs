//! The platform services the core does not have: the clock, randomness and one-shot timers.
//! Bound to globals that exist in pages, workers, service workers and Node alike.

use sync_core::io::Millis;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Whether this code runs in a service worker (an extension's background among them), which
/// the browser stops when it is quiet: there, connections default to a keepalive.
pub(crate) fn in_service_worker() -> bool {
    js_sys::global().is_instance_of::<web_sys::ServiceWorkerGlobalScope>()
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> Millis {
    js_sys::Date::now() as Millis
}

/// Fresh random bytes from `crypto.getRandomValues`.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    get_random_values(&mut bytes);
    bytes
}

/// Lowercase hex, for ids made of random bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A pending `setTimeout`; dropping it cancels the call.
#[derive(Debug)]
pub(crate) struct Timer {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    /// Calls `f` at `at_ms` (at once if that has passed).
    pub(crate) fn at(at_ms: Millis, f: impl FnMut() + 'static) -> Self {
        let callback = Closure::<dyn FnMut()>::new(f);
        let delay = at_ms.saturating_sub(now_ms()) as f64;
        let id = set_timeout(callback.as_ref().unchecked_ref(), delay);
        Self {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}
