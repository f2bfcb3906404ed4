//! The page every client workload edits: a new page holding one empty paragraph.

use client_native::{BlockId, BlockKind, Client, Document, Target};

/// Creates a page titled `title` with one empty paragraph, and returns both.
pub(crate) async fn with_empty_paragraph(
    client: &Client,
    title: &str,
) -> anyhow::Result<(Document, BlockId)> {
    let doc = client.create(title).await?;
    let block = doc
        .add_block(
            BlockKind::Paragraph,
            String::new(),
            Target::End { parent: None },
        )
        .await?;
    Ok((doc, block))
}
