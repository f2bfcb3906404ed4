//! The servers of one run: the Tessera relay in workerd (through the end-to-end harness), the
//! automerge-repo Node sync server and y-sweet, each in its own process group on 127.0.0.1,
//! killed when dropped; and the scratch directory they keep their state in.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use client_e2e::{Relay, free_port, jwt_secret, root};
use sync_core::auth::{Claims, DocAccess, Scope, mint_hs256};

/// A temporary directory for every database and server store of the run.
#[derive(Debug)]
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("tessera-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// A fresh subdirectory.
    pub(crate) fn dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let d = self.0.join(name);
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The built relay, served by `scripts/relay.sh` (no rebuild).
pub(crate) fn start_relay(state: &Path) -> anyhow::Result<Relay> {
    Relay::start(&root().join("scripts/relay.sh"), state)
}

/// A write token for every document, signed with the relay's dev secret.
pub(crate) fn relay_token() -> anyhow::Result<String> {
    relay_token_on(None)
}

/// The same on a named plan of relay-worker/plans.json (`None`: the free plan).
pub(crate) fn relay_token_on(plan: Option<&str>) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let claims = Claims {
        sub: "bench".into(),
        tenant: "bench".into(),
        docs: DocAccess::All,
        scope: Scope::Write,
        plan: plan.map(str::to_owned),
        exp: now + 3600,
        nbf: None,
        iat: Some(now),
        iss: None,
        aud: None,
    };
    mint_hs256(&claims, jwt_secret()?.as_bytes()).map_err(|e| anyhow::anyhow!("mint: {e}"))
}

/// A peer server process.
#[derive(Debug)]
pub(crate) struct Process {
    child: Child,
    port: u16,
}

impl Process {
    /// `node bench/client/automerge-repo-server.mjs PORT DIR`.
    pub(crate) fn automerge_repo_server(store: &Path) -> anyhow::Result<Self> {
        let port = free_port();
        let mut cmd = Command::new("node");
        cmd.arg(root().join("bench/client/automerge-repo-server.mjs"))
            .arg(port.to_string())
            .arg(store)
            .current_dir(root());
        Self::spawn(cmd, port, "node (automerge-repo server)")
    }

    /// `wrangler dev` of bench/client/floor (the P1 floor), its state in `state`.
    pub(crate) fn workerd_floor(state: &Path) -> anyhow::Result<Self> {
        let port = free_port();
        let mut cmd = Command::new(root().join("node_modules/.bin/wrangler"));
        cmd.args([
            "dev",
            "--config",
            "bench/client/floor/wrangler.toml",
            "--ip",
            "127.0.0.1",
        ])
        .args(["--port", &port.to_string(), "--persist-to"])
        .arg(state.join("wrangler"))
        .arg("--show-interactive-dev-session=false")
        .env("XDG_CONFIG_HOME", state.join("xdg"))
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_SEND_ERROR_REPORTS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_HIDE_BANNER", "true")
        .current_dir(root());
        Self::spawn(cmd, port, "wrangler dev (workerd floor)")
    }

    /// `y-sweet serve DIR --host 127.0.0.1 --port PORT`, from `$TESSERA_TOOLS/y-sweet`.
    pub(crate) fn y_sweet(store: &Path) -> anyhow::Result<Self> {
        let bin = tools_dir().join("y-sweet/bin/y-sweet");
        if !bin.exists() {
            bail!(
                "{} is missing; `make bench-client` installs it (cargo install y-sweet --version 0.9.1 --locked)",
                bin.display()
            );
        }
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg(store)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        Self::spawn(cmd, port, "y-sweet")
    }

    fn spawn(mut cmd: Command, port: u16, what: &str) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt;
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let process = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("{what} did not listen on 127.0.0.1:{port} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(process)
    }

    pub(crate) fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The whole group, by its id (the same form as the e2e harness).
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// Where the project installs its tools.
fn tools_dir() -> PathBuf {
    std::env::var_os("TESSERA_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/tessera/tools")))
        .unwrap_or_else(|| PathBuf::from(".cache/tessera/tools"))
}
