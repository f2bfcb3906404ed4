//! Callback subscriptions to a document's events and status, for hosts that cannot hold tokio
//! types (an FFI layer: uniffi wraps a boxed callback and an object with `cancel()`).
//!
//! Each subscription runs its callback on a thread of its own, never on an executor thread, so
//! a slow or blocking host callback cannot stall any document's sync; calls are made one at a
//! time, in order. Dropping the [`Subscription`] or calling [`Subscription::cancel`] stops it,
//! and once either returns the callback is not called again (unless cancel runs inside the
//! callback itself, which then finishes normally).

use std::sync::Mutex;
use std::thread::{JoinHandle, ThreadId};

use tokio::runtime::Handle;
use tokio::sync::{broadcast, oneshot, watch};

use sync_core::client::ClientStatus;

use crate::document::DocEvent;

/// A host callback for change notifications.
pub type EventCallback = Box<dyn Fn(DocEvent) + Send + Sync>;

/// A host callback for status snapshots.
pub type StatusCallback = Box<dyn Fn(ClientStatus) + Send + Sync>;

/// A live subscription; stops on drop or [`cancel`](Self::cancel).
#[derive(Debug)]
pub struct Subscription {
    inner: Mutex<Option<Running>>,
}

#[derive(Debug)]
struct Running {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl Subscription {
    /// Calls `callback` with each event from now on. A callback that falls more than the
    /// channel's capacity (256 events) behind misses the oldest; the status stays exact.
    pub(crate) fn events(
        runtime: Handle,
        mut events: broadcast::Receiver<DocEvent>,
        callback: EventCallback,
    ) -> Self {
        Self::spawn(runtime, move |mut stop| async move {
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stop => return,
                    event = events.recv() => match event {
                        Ok(event) => callback(event),
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        })
    }

    /// Calls `callback` with the current status at once, then with every change.
    pub(crate) fn status(
        runtime: Handle,
        mut status: watch::Receiver<ClientStatus>,
        callback: StatusCallback,
    ) -> Self {
        Self::spawn(runtime, move |mut stop| async move {
            loop {
                let current = status.borrow_and_update().clone();
                callback(current);
                tokio::select! {
                    biased;
                    _ = &mut stop => return,
                    changed = status.changed() => if changed.is_err() { return },
                }
            }
        })
    }

    fn spawn<F, Fut>(runtime: Handle, body: F) -> Self
    where
        F: FnOnce(oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("tessera-subscription".to_owned())
            .spawn(move || runtime.block_on(body(stopped)))
            .expect("the OS refused a thread for a subscription");
        Self {
            inner: Mutex::new(Some(Running { stop, thread })),
        }
    }

    /// Stops the subscription; when it returns, the callback is not running and will not be
    /// called again (called from inside the callback, that call finishes first).
    pub fn cancel(&self) {
        let running = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(Running { stop, thread }) = running {
            let _ = stop.send(());
            if thread.thread().id() != current_thread() {
                let _ = thread.join();
            }
        }
    }

    /// Whether it still delivers.
    pub fn is_active(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|r| !r.thread.is_finished())
    }
}

fn current_thread() -> ThreadId {
    std::thread::current().id()
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}
