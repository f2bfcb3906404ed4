//! Harness for the end-to-end tests: starts the real relay with `scripts/relay.sh`, runs the
//! real `tessera` binary on separate data directories ("devices"), and kills either with
//! SIGKILL. It owns no sync logic; it only starts processes and compares their output.
//!
//! When `scripts/relay.sh` does not exist (the relay has not landed on this branch), every test
//! prints why and passes without running, so the branch stays green.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod tls;
pub use tls::TestCa;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The relay start script. A missing script fails the test: a suite that skipped itself would
/// report green while testing nothing.
pub fn relay_script() -> PathBuf {
    let script = root().join("scripts/relay.sh");
    assert!(
        script.exists(),
        "{} is missing: the end-to-end tests need it to start the relay",
        script.display()
    );
    script
}

/// The relay's HS256 dev secret, from `.dev.vars` (or its example).
pub fn jwt_secret() -> anyhow::Result<String> {
    for name in [".dev.vars", ".dev.vars.example"] {
        if let Ok(text) = std::fs::read_to_string(root().join(name)) {
            for line in text.lines() {
                if let Some(v) = line.trim().strip_prefix("TESSERA_JWT_SECRET=") {
                    return Ok(v.trim().trim_matches('"').to_owned());
                }
            }
        }
    }
    bail!("no TESSERA_JWT_SECRET in .dev.vars or .dev.vars.example")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A relay process (its whole process group, so workerd dies with it).
#[derive(Debug)]
pub struct Relay {
    script: PathBuf,
    pub port: u16,
    state: PathBuf,
    /// `K=V` overrides of wrangler.toml vars (`RELAY_VARS`).
    vars: Vec<String>,
    /// Served over HTTPS with this certificate and key (PEM files).
    tls: Option<(PathBuf, PathBuf)>,
    child: Option<Child>,
}

impl Relay {
    /// Starts the relay and waits for `GET /health`.
    pub fn start(script: &Path, state: &Path) -> anyhow::Result<Self> {
        Self::start_with_vars(script, state, &[])
    }

    /// Starts the relay with `K=V` var overrides (values without spaces).
    pub fn start_with_vars(script: &Path, state: &Path, vars: &[&str]) -> anyhow::Result<Self> {
        Self::launch(script, state, vars, None)
    }

    /// Starts the relay over HTTPS (`wss://`) with the certificate of `ca`.
    pub fn start_tls(script: &Path, state: &Path, ca: &TestCa) -> anyhow::Result<Self> {
        Self::launch(
            script,
            state,
            &[],
            Some((ca.relay_cert.clone(), ca.relay_key.clone())),
        )
    }

    fn launch(
        script: &Path,
        state: &Path,
        vars: &[&str],
        tls: Option<(PathBuf, PathBuf)>,
    ) -> anyhow::Result<Self> {
        let mut relay = Self {
            script: script.to_owned(),
            port: free_port(),
            state: state.to_owned(),
            vars: vars.iter().map(|v| (*v).to_owned()).collect(),
            tls,
            child: None,
        };
        relay.restart()?;
        Ok(relay)
    }

    /// The base URL for `--relay`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port and state directory.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        // The relay's output goes next to its state, and its tail into the error if it never
        // comes up.
        std::fs::create_dir_all(&self.state)?;
        let log_path = self.state.with_extension("log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new("bash");
        command
            .arg(&self.script)
            .arg(self.port.to_string())
            .arg(&self.state)
            .current_dir(root())
            // `make test-client` builds the Worker once first; restarts must not rebuild it.
            .env("RELAY_NO_BUILD", "1")
            .env("RELAY_VARS", self.vars.join(" "))
            .env_remove("RELAY_TLS_CERT")
            .env_remove("RELAY_TLS_KEY")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .process_group(0);
        if let Some((cert, key)) = &self.tls {
            command
                .env("RELAY_TLS_CERT", cert)
                .env("RELAY_TLS_KEY", key);
        }
        let child = command.spawn().context("starting scripts/relay.sh")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            let up = match &self.tls {
                Some(_) => tls::health(self.port),
                None => health(self.port),
            };
            if up {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        bail!(
            "relay did not answer /health on port {} within 180s; its output ends:\n{}",
            self.port,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// SIGKILL to the whole process group.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `--` and a named signal: procps-ng 4.0.2 misparses `kill -9 -PGID` (it signals
            // the group named by PGID's first digit, so `-1` meant every process we may kill).
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl Relay {
    /// `DELETE /v1/docs/<id>` with `token`; the response's status line.
    pub fn delete_doc(&self, doc: &str, token: &str) -> Option<String> {
        let id = doc.trim_start_matches("automerge:");
        http(
            self.port,
            &format!("DELETE /v1/docs/{id}"),
            &format!("Authorization: Bearer {token}\r\n"),
        )
        .and_then(|r| r.lines().next().map(str::to_owned))
    }
}

/// One HTTP/1.1 request on loopback; the whole response, if one came.
fn http(port: u16, request_line: &str, headers: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{request_line} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    Some(buf)
}

fn health(port: u16) -> bool {
    http(port, "GET /health", "").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
}

/// The `tessera` binary, built on first use; `$TESSERA_BIN` names another one (an older build,
/// to see a new test fail against it).
pub fn tessera_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("TESSERA_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "tessera-cli", "--bin", "tessera"])
        .current_dir(root())
        .status()?;
    if !status.success() {
        bail!("building tessera failed");
    }
    // target/<profile>/deps/<test> -> target/<profile>/tessera
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("tessera"))
        .context("locating the target directory")?;
    Ok(bin)
}

/// One device: a data directory driven through the CLI.
#[derive(Debug, Clone)]
pub struct Device {
    pub bin: PathBuf,
    pub data: PathBuf,
}

impl Device {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .env_remove("TESSERA_DATA");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tessera")
    }

    /// Starts a command without waiting for it; its output is discarded.
    pub fn spawn(&self, args: &[&str]) -> std::io::Result<Child> {
        self.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    }

    /// `sync DOC --relay RELAY --token TOKEN --timeout SECS`, run to the end.
    pub fn run_sync(&self, doc: &str, relay: &str, token: &str, timeout: u64) -> Output {
        let timeout = timeout.to_string();
        self.run(&sync_args(doc, relay, token, &timeout))
    }

    /// The same `sync`, started without waiting.
    pub fn spawn_sync(
        &self,
        doc: &str,
        relay: &str,
        token: &str,
        timeout: u64,
    ) -> std::io::Result<Child> {
        let timeout = timeout.to_string();
        self.spawn(&sync_args(doc, relay, token, &timeout))
    }

    /// Runs and returns stdout, failing with stderr.
    pub fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.run(args);
        if !out.status.success() {
            bail!("tessera {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?.trim_end().to_owned())
    }

    pub fn sync(&self, doc: &str, relay: &str, token: &str, timeout: u64) -> anyhow::Result<()> {
        let timeout = timeout.to_string();
        self.ok(&sync_args(doc, relay, token, &timeout)).map(drop)
    }
}

fn sync_args<'a>(doc: &'a str, relay: &'a str, token: &'a str, timeout: &'a str) -> [&'a str; 8] {
    [
        "sync",
        doc,
        "--relay",
        relay,
        "--token",
        token,
        "--timeout",
        timeout,
    ]
}

/// Mints a write token for every document.
pub fn token(bin: &Path, secret: &str) -> anyhow::Result<String> {
    token_with(bin, secret, "write")
}

/// Mints a token for every document with this scope (`read`, `write` or `admin`).
pub fn token_with(bin: &Path, secret: &str, scope: &str) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args([
            "token", "--secret", secret, "--sub", "e2e", "--scope", scope,
        ])
        .output()?;
    if !out.status.success() {
        bail!("token: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}
