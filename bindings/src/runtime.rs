//! The tokio runtime client-native's document tasks run on, and the one way the facade enters
//! it: every async export spawns its work there and awaits the join handle, which any foreign
//! executor (Python's asyncio, Kotlin coroutines, Swift tasks) can poll. A panic inside stays a
//! failed task and comes back as `TesseraError::Internal`, never unwinding across the FFI.
//!
//! One runtime per process, started on first use and never dropped: a runtime dropped from one
//! of its own threads (the last handle released inside a callback) would panic.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use crate::error::{Result, TesseraError};

/// Two worker threads: documents are IO-bound, and SQLite runs on tokio's blocking pool.
const WORKERS: usize = 2;

pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("tessera-runtime")
            .enable_all()
            .build()
            .expect("the OS refused the threads of Tessera's runtime")
    })
}

/// Runs `work` on the runtime and waits for it from the caller's executor.
pub(crate) async fn run<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    match runtime().spawn(work).await {
        Ok(result) => result,
        Err(e) => Err(TesseraError::Internal {
            reason: panic_text(e),
        }),
    }
}

/// Runs blocking `work` (a SQLite call of client-native's blocking API) inside the runtime's
/// context, on its blocking pool.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match runtime().spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(TesseraError::Internal {
            reason: panic_text(e),
        }),
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with no message".to_owned()),
        Err(e) => e.to_string(),
    }
}
