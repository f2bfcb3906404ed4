//! `show` and `list`.

use client_native::{BlockView, Client, Document};

pub(crate) async fn show(doc: &Document, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", doc.to_json().await?);
        return Ok(());
    }
    let view = doc.view().await?;
    println!("# {}", view.title);
    println!("{}", view.url);
    print_blocks(&view.blocks, 0);
    Ok(())
}

fn print_blocks(blocks: &[BlockView], depth: usize) {
    for b in blocks {
        let marks: Vec<String> = b
            .marks
            .iter()
            .map(|m| match &m.value {
                serde_json::Value::Bool(true) => format!("{}[{}..{}]", m.name, m.start, m.end),
                v => format!("{}={}[{}..{}]", m.name, v, m.start, m.end),
            })
            .collect();
        let props: Vec<String> = b.props.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let extra = [props, marks].concat();
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  ({})", extra.join(", "))
        };
        println!(
            "{}- [{}] {} {:?}{}",
            "  ".repeat(depth),
            b.id,
            b.kind,
            b.text,
            extra
        );
        print_blocks(&b.children, depth + 1);
    }
}

pub(crate) async fn list(client: &Client, json: bool) -> anyhow::Result<()> {
    let docs = client.list().await?;
    if json {
        println!("{}", serde_json::to_string(&docs)?);
    } else {
        for d in docs {
            println!("{}\t{}", d.url, d.title);
        }
    }
    Ok(())
}
