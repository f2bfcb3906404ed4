//! P1's floor: two raw WebSockets through `bench/client/floor` (a Durable Object in workerd that
//! only rebroadcasts). A sample is the time from A sending a frame the size of a one-character
//! sync message to B receiving it: what workerd itself costs, with no client and no relay work.

use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::STEP_TIMEOUT;
use crate::report::Latencies;

/// About the size of one one-character change in a sync message.
const FRAME_BYTES: usize = 200;

pub(crate) async fn run(base: &str, frames: usize) -> anyhow::Result<Latencies> {
    let url = base.replacen("http", "ws", 1);
    let (mut a, _) = tokio_tungstenite::connect_async(&url)
        .await
        .context("connecting A to the floor")?;
    let (mut b, _) = tokio_tungstenite::connect_async(&url)
        .await
        .context("connecting B to the floor")?;
    let mut samples = Vec::with_capacity(frames);
    for i in 0..frames {
        let frame = vec![i as u8; FRAME_BYTES];
        let start = Instant::now();
        a.send(Message::binary(frame)).await?;
        loop {
            match tokio::time::timeout(STEP_TIMEOUT, b.next()).await {
                Ok(Some(Ok(Message::Binary(got)))) if got.len() == FRAME_BYTES => break,
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => bail!("the floor's socket failed: {e}"),
                Ok(None) => bail!("the floor closed B's socket"),
                Err(_) => bail!("frame {i} never came through the floor"),
            }
        }
        samples.push(start.elapsed());
    }
    Ok(Latencies::new(
        "workerd floor (a Durable Object that only rebroadcasts)",
        "raw WebSocket",
        samples,
    ))
}
