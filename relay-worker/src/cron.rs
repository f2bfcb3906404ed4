//! The cron trigger: sweeps orphaned snapshots out of R2 (see [`crate::sweep`]): superseded
//! generations, and every snapshot of a deleted document.

use worker::{Bucket, Env, ScheduleContext, ScheduledEvent, event};

use crate::sweep::{DELETE_BATCH, SNAPSHOTS, TOMBSTONES, superseded};

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = sweep(&env).await {
        worker::console_error!("snapshot sweep failed: {e}");
    }
}

/// Runs the sweep once (the cron trigger, or the dev-only `/__dev/sweep`); returns how many
/// keys it deleted.
pub(crate) async fn sweep(env: &Env) -> worker::Result<usize> {
    let bucket = env.bucket("SNAPSHOTS")?;
    let snapshots = list_keys(&bucket, SNAPSHOTS).await?;
    let tombstones = list_keys(&bucket, TOMBSTONES).await?;
    let old = superseded(&snapshots, &tombstones);
    if !old.is_empty() {
        worker::console_log!("sweeping {} orphaned snapshots", old.len());
        delete_keys(&bucket, old.clone()).await?;
    }
    Ok(old.len())
}

/// Deletes `keys`, at most [`DELETE_BATCH`] per call (R2's limit).
pub(crate) async fn delete_keys(bucket: &Bucket, keys: Vec<String>) -> worker::Result<()> {
    for batch in keys.chunks(DELETE_BATCH) {
        bucket.delete_multiple(batch.to_vec()).await?;
    }
    Ok(())
}

/// Every key under `prefix`, page by page (a page holds at most 1,000).
pub(crate) async fn list_keys(bucket: &Bucket, prefix: &str) -> worker::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut list = bucket.list().prefix(prefix);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await?;
        keys.extend(page.objects().iter().map(worker::Object::key));
        match (page.truncated(), page.cursor()) {
            (true, Some(c)) => cursor = Some(c),
            _ => break,
        }
    }
    Ok(keys)
}
