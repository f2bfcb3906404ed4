//! `tessera`: create, edit, show, list and sync Tessera pages, and mint development tokens.
//!
//! This crate (tessera-cli) is a thin command line over the client-native library; the CLI's
//! dependencies (clap, anyhow, indicatif, dirs) live here so the library an FFI layer wraps
//! carries none of them.
//!
//! Every command opens the local database, does one thing, and exits; an edit is on disk
//! before the process exits 0. Errors go to stderr with a non-zero exit code: 2 for usage
//! errors, 3 when the relay refused the token (mint a new one), 4 when `sync` timed out (the
//! message says what was last seen, e.g. "relay unreachable"), 5 when the relay refused or lacks
//! the document, 1 otherwise.

mod args;
mod edit;
mod show;
mod sync;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use client_native::{Client, DocumentId, Error};

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 1 for most failures; distinct codes for the ones scripts branch on.
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<Error>() {
        Some(Error::NeedsToken { .. }) => 3,
        Some(Error::Timeout { .. }) => 4,
        Some(Error::Refused { .. } | Error::Unavailable(_)) => 5,
        _ => 1,
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Token(t) = &cli.command {
        println!("{}", token::mint(t)?);
        return Ok(());
    }
    let client = Client::open(&data_dir(cli.data)?)?;
    match cli.command {
        Command::New { title } => {
            let doc = client
                .create(title.as_deref().unwrap_or("Untitled"))
                .await?;
            println!("{}", doc.url());
        }
        Command::List { json } => show::list(&client, json).await?,
        Command::Show { doc, json } => {
            show::show(&client.open_document(parse_doc(&doc)?).await?, json).await?;
        }
        Command::Sync(s) => sync::run(&client, s).await?,
        Command::Token(_) => unreachable!("handled above"),
        other => edit::run(&client, other).await?,
    }
    Ok(())
}

/// `--data`, then `$TESSERA_DATA` (clap reads it), then the platform data directory.
fn data_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    dirs::data_dir()
        .map(|d| d.join("tessera"))
        .ok_or_else(|| anyhow::anyhow!("no data directory: pass --data DIR or set TESSERA_DATA"))
}

pub(crate) fn parse_doc(s: &str) -> anyhow::Result<DocumentId> {
    DocumentId::parse_url_or_id(s).map_err(|e| {
        anyhow::anyhow!("{s:?} is not a document URL or id ({e}); use the automerge:<id> that `tessera new` printed")
    })
}
