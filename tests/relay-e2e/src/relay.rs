//! Starting and stopping the relay in workerd.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a relay may take to answer `/health` after `wrangler dev` starts.
const STARTUP_LIMIT_SECS: u64 = 240;

/// A running `wrangler dev`, killed (whole process group) on drop.
#[derive(Debug)]
pub struct Relay {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its persisted state.
    pub state: PathBuf,
    vars: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl Relay {
    /// Starts a relay with a fresh state directory; `vars` are `KEY=VALUE` overrides.
    pub fn start(name: &str, vars: &[&str]) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let state = std::env::temp_dir().join(format!("tessera-e2e-{name}-{nanos}"));
        std::fs::create_dir_all(&state).expect("state dir");
        let mut relay = Self {
            port: free_port(),
            log: state.join("wrangler.log"),
            state,
            vars: vars.iter().map(ToString::to_string).collect(),
            child: None,
        };
        relay.spawn();
        relay
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        // setsid: the script, node and workerd share a new process group we can kill whole.
        let child = Command::new("setsid")
            .arg(repo_root().join("scripts/relay.sh"))
            .arg("serve")
            .arg(self.port.to_string())
            .arg(self.state.join("wrangler"))
            .env("RELAY_NO_BUILD", "1")
            .env("RELAY_VARS", self.vars.join(" "))
            .env("XDG_CONFIG_HOME_RELAY", self.state.join("xdg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start scripts/relay.sh");
        self.child = Some(child);
        // workerd starts in ~3 s on an idle machine; a 2-core CI box that is also compiling
        // can take minutes, and a slow start is not what these suites test.
        let deadline = Instant::now() + Duration::from_secs(STARTUP_LIMIT_SECS);
        while Instant::now() < deadline {
            if self.get("/health").is_some_and(|(s, _)| s == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("relay did not become healthy within {STARTUP_LIMIT_SECS} s; log:\n{log}");
    }

    /// Stops wrangler (SIGKILL to the process group: nothing gets a chance to flush).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            // workerd may linger a moment after its parent died.
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && self.get("/health").is_some() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Kills and starts again on the same port and state directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `ws://127.0.0.1:PORT/v1/docs/ID?token=TOKEN`
    pub fn doc_url(&self, doc: &str, token: &str) -> String {
        format!("ws://127.0.0.1:{}/v1/docs/{doc}?token={token}", self.port)
    }

    /// A plain HTTP GET; `(status, body)`.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        self.request("GET", path, None)
    }

    /// A plain HTTP/1.1 request with an optional bearer token; `(status, body)`.
    pub fn request(&self, method: &str, path: &str, token: Option<&str>) -> Option<(u16, String)> {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| ("Authorization", a))
            .into_iter()
            .collect();
        self.http(method, path, &headers)
            .map(|r| (r.status, r.body))
    }

    /// A plain HTTP/1.1 request with extra headers; `None` if the relay did not answer.
    pub fn http(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Option<HttpResponse> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\nContent-Length: 0\r\n\r\n"
        )
        .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
        let mut lines = head.lines();
        let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Some(HttpResponse {
            status,
            headers,
            body: body.to_string(),
        })
    }
}

/// An HTTP answer from the relay.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body (chunked transfer encoding left as is).
    pub body: String,
}

impl HttpResponse {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.state);
        }
    }
}
