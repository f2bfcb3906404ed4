//! The command line, exactly as scripts and test suites use it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Local-first Notion-style pages, synced through a Tessera relay"
)]
pub(crate) struct Cli {
    /// Data directory holding the local database.
    #[arg(long, global = true, env = "TESSERA_DATA")]
    pub(crate) data: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a page; prints its URL.
    New {
        #[arg(long)]
        title: Option<String>,
    },
    /// List local documents.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a block; prints its id.
    Add {
        doc: String,
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        text: String,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        level: Option<u8>,
        #[arg(long)]
        checked: bool,
        #[arg(long)]
        language: Option<String>,
    },
    /// Edit a block's text.
    #[command(group(clap::ArgGroup::new("op").required(true).args(["insert", "delete", "set"])))]
    Edit {
        doc: String,
        block: String,
        /// Insert TEXT at POS.
        #[arg(long, num_args = 2, value_names = ["POS", "TEXT"], allow_hyphen_values = true)]
        insert: Option<Vec<String>>,
        /// Delete LEN characters at POS.
        #[arg(long, num_args = 2, value_names = ["POS", "LEN"])]
        delete: Option<Vec<usize>>,
        /// Replace the whole text.
        #[arg(long, allow_hyphen_values = true)]
        set: Option<String>,
    },
    /// Format (or with --remove, unformat) START..END.
    Mark {
        doc: String,
        block: String,
        start: usize,
        end: usize,
        /// bold, italic, underline, strike, code, link=HREF, color=VALUE.
        mark: String,
        #[arg(long)]
        remove: bool,
    },
    /// Move a block.
    Move {
        doc: String,
        block: String,
        #[arg(long, conflicts_with = "root")]
        parent: Option<String>,
        #[arg(long)]
        root: bool,
        #[arg(long, conflicts_with = "first")]
        after: Option<String>,
        #[arg(long)]
        first: bool,
    },
    /// Delete a block and everything under it.
    Delete { doc: String, block: String },
    /// Print the page.
    Show {
        doc: String,
        /// The stable JSON shape, byte-identical on replicas that are in sync.
        #[arg(long)]
        json: bool,
    },
    /// Sync documents with a relay.
    Sync(SyncArgs),
    /// Mint an HS256 development token.
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    #[arg(required = true)]
    pub(crate) docs: Vec<String>,
    /// Relay base URL, such as https://relay.example.com (http:// only on this machine).
    #[arg(long)]
    pub(crate) relay: String,
    /// Also trust the CA certificates in this PEM file (a private CA, a development relay).
    #[arg(long, value_name = "PATH")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Allow http:// / ws:// to a host other than this machine: the token travels in clear
    /// text. For closed test networks only.
    #[arg(long)]
    pub(crate) insecure_transport: bool,
    #[arg(long, env = "TESSERA_TOKEN", hide_env_values = true)]
    pub(crate) token: String,
    /// Keep syncing and print changes until interrupted.
    #[arg(long)]
    pub(crate) watch: bool,
    /// Give up after this many seconds (without --watch).
    #[arg(long, default_value_t = 60)]
    pub(crate) timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[arg(long, env = "TESSERA_JWT_SECRET", hide_env_values = true)]
    pub(crate) secret: String,
    #[arg(long)]
    pub(crate) sub: String,
    #[arg(long, default_value = "dev")]
    pub(crate) tenant: String,
    /// A document id the token grants, or * (repeatable; default *).
    #[arg(long = "doc")]
    pub(crate) docs: Vec<String>,
    #[arg(long, default_value = "write", value_parser = ["read", "write", "admin"])]
    pub(crate) scope: String,
    #[arg(long)]
    pub(crate) plan: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub(crate) ttl: u64,
}
