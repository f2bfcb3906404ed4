//! The cron trigger: sweeps superseded snapshots out of R2 (see [`crate::sweep`]).

use worker::{Env, ScheduleContext, ScheduledEvent, event};

use crate::sweep::superseded;

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = sweep(&env).await {
        worker::console_error!("snapshot sweep failed: {e}");
    }
}

/// Runs the sweep once (the cron trigger, or the dev-only `/__dev/sweep`).
pub(crate) async fn sweep(env: &Env) -> worker::Result<()> {
    let bucket = env.bucket("SNAPSHOTS")?;
    let keys = list_keys(&bucket, "snapshots/").await?;
    let old = superseded(&keys);
    if !old.is_empty() {
        worker::console_log!("sweeping {} superseded snapshots", old.len());
        bucket.delete_multiple(old).await?;
    }
    Ok(())
}

/// Every key under `prefix`, page by page.
pub(crate) async fn list_keys(
    bucket: &worker::Bucket,
    prefix: &str,
) -> worker::Result<Vec<String>> {
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
