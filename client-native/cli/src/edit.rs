//! The editing commands: add, edit, mark, move, delete. Each returns once the edit is durable.

use anyhow::{Context, bail};
use client_native::{BlockId, BlockKind, Client, Document, MarkName, MarkSpec, PageView, Target};

use crate::args::Command;
use crate::parse_doc;

pub(crate) async fn run(client: &Client, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add {
            doc,
            kind,
            text,
            parent,
            after,
            level,
            checked,
            language,
        } => {
            let doc = open(client, &doc).await?;
            let kind = BlockKind::from_parts(&kind, level, checked, language)?;
            let target = match (after, parent) {
                (Some(after), parent) => {
                    let after = block(&after)?;
                    check_sibling(&doc, &after, parent.as_deref()).await?;
                    Target::After(after)
                }
                (None, parent) => Target::End {
                    parent: parent.as_deref().map(block).transpose()?,
                },
            };
            println!("{}", doc.add_block(kind, text, target).await?);
        }
        Command::Edit {
            doc,
            block: id,
            insert,
            delete,
            set,
        } => {
            let doc = open(client, &doc).await?;
            let id = block(&id)?;
            if let Some([pos, text]) = insert.as_deref() {
                let pos: usize = pos
                    .parse()
                    .with_context(|| format!("--insert POS must be a number, not {pos:?}"))?;
                doc.insert_text(id, pos, text.clone()).await?;
            } else if let Some([pos, len]) = delete.as_deref() {
                doc.delete_text(id, *pos, *len).await?;
            } else if let Some(text) = set {
                doc.set_text(id, text).await?;
            }
        }
        Command::Mark {
            doc,
            block: id,
            start,
            end,
            mark,
            remove,
        } => {
            let doc = open(client, &doc).await?;
            let id = block(&id)?;
            if remove {
                let name: MarkName = mark.split('=').next().unwrap_or_default().parse()?;
                doc.unmark(id, start, end, name).await?;
            } else {
                let spec: MarkSpec = mark.parse()?;
                doc.mark(id, start, end, spec).await?;
            }
        }
        Command::Move {
            doc,
            block: id,
            parent,
            root,
            after,
            first,
        } => {
            let doc = open(client, &doc).await?;
            let id = block(&id)?;
            let target = if let Some(after) = after {
                let after = block(&after)?;
                let parent = if root {
                    Some("root")
                } else {
                    parent.as_deref()
                };
                check_sibling(&doc, &after, parent).await?;
                Target::After(after)
            } else {
                let parent = match (parent, root) {
                    (Some(p), _) => Some(block(&p)?),
                    (None, true) => None,
                    // Neither given: stay under the current parent.
                    (None, false) => parent_of(&doc.view().await?, &id)
                        .with_context(|| format!("no block {id} in this page"))?,
                };
                if first {
                    Target::Start { parent }
                } else {
                    Target::End { parent }
                }
            };
            doc.move_block(id, target).await?;
        }
        Command::Delete { doc, block: id } => {
            open(client, &doc).await?.delete_block(block(&id)?).await?;
        }
        _ => unreachable!("main dispatches only editing commands here"),
    }
    Ok(())
}

async fn open(client: &Client, doc: &str) -> anyhow::Result<Document> {
    Ok(client.open_document(parse_doc(doc)?).await?)
}

fn block(s: &str) -> anyhow::Result<BlockId> {
    Ok(s.parse()?)
}

/// With `--after X --parent P`, X must be a child of P (`root`: top level).
async fn check_sibling(
    doc: &Document,
    after: &BlockId,
    parent: Option<&str>,
) -> anyhow::Result<()> {
    let Some(parent) = parent else {
        return Ok(());
    };
    let view = doc.view().await?;
    let actual =
        parent_of(&view, after).with_context(|| format!("no block {after} in this page"))?;
    let actual = actual.map_or_else(|| "root".to_owned(), |b| b.to_string());
    if actual != parent {
        bail!("block {after} is not a child of {parent} (it is under {actual})");
    }
    Ok(())
}

/// `Some(None)`: at the top level; `Some(Some(p))`: under p; `None`: not shown.
fn parent_of(view: &PageView, id: &BlockId) -> Option<Option<BlockId>> {
    fn walk(
        blocks: &[client_native::BlockView],
        parent: Option<&str>,
        id: &str,
    ) -> Option<Option<String>> {
        for b in blocks {
            if b.id == id {
                return Some(parent.map(str::to_owned));
            }
            if let Some(found) = walk(&b.children, Some(&b.id), id) {
                return Some(found);
            }
        }
        None
    }
    walk(&view.blocks, None, id.as_str()).map(|p| p.and_then(|s| s.parse().ok()))
}
