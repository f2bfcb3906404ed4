"""Harness for the bindings' tests: the real relay in workerd (scripts/relay.sh, already built),
`tessera` CLI devices on their own data directories, tokens minted by `tessera token`.

It owns no sync logic: it starts processes, kills them, and compares what they print.
Environment (set by mk/bindings.mk): TESSERA_BIN, the CLI binary.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tessera_bin() -> str:
    binary = os.environ.get("TESSERA_BIN")
    if not binary or not Path(binary).is_file():
        raise RuntimeError(
            f"TESSERA_BIN={binary!r} is not a file: run through `make test-bindings`, which builds it"
        )
    return binary


def jwt_secret() -> str:
    for name in (".dev.vars", ".dev.vars.example"):
        path = ROOT / name
        if path.is_file():
            for line in path.read_text().splitlines():
                line = line.strip()
                if line.startswith("TESSERA_JWT_SECRET="):
                    return line.split("=", 1)[1].strip().strip('"')
    raise RuntimeError("no TESSERA_JWT_SECRET in .dev.vars or .dev.vars.example")


def mint(ttl: int = 3600, tenant: str = "bindings") -> str:
    out = subprocess.run(
        [tessera_bin(), "token", "--secret", jwt_secret(), "--sub", "py", "--tenant", tenant,
         "--ttl", str(ttl)],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()


def mint_expiring(seconds: int, tenant: str = "bindings") -> str:
    """An HS256 token the relay accepts for about `seconds` more: its `exp` lies in the past by
    the relay's clock leeway (CLOCK_LEEWAY_SECS, 60 s) minus `seconds`, so an expiry mid-session
    takes seconds, not a minute. Minted here because `tessera token --ttl` cannot go below 0."""
    now = int(time.time())
    claims = {"sub": "py", "tenant": tenant, "docs": ["*"], "scope": "write",
              "exp": now - CLOCK_LEEWAY_SECS + seconds, "iat": now}
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=")  # noqa: E731
    signing = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + b64(json.dumps(claims).encode())
    signature = hmac.new(jwt_secret().encode(), signing, hashlib.sha256).digest()
    return (signing + b"." + b64(signature)).decode()


CLOCK_LEEWAY_SECS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """`scripts/relay.sh PORT STATE` in its own process group, killed with SIGKILL."""

    def __init__(self, state: Path):
        self.port = free_port()
        self.state = state
        self.proc = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state.with_suffix(".log"), "wb") as log:
            self.spawn(log)
        self.wait()

    def spawn(self, log):
        env = dict(os.environ, RELAY_NO_BUILD="1")
        env.pop("RELAY_TLS_CERT", None)
        env.pop("RELAY_TLS_KEY", None)
        self.proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts/relay.sh"), str(self.port), str(self.state)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait(self):
        # Up to 240 s, as relay-e2e allows: a loaded 2-core machine was seen taking over 90 s.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        tail = self.state.with_suffix(".log").read_text(errors="replace").splitlines()[-30:]
        self.kill()
        raise RuntimeError("relay did not answer /health; its output ends:\n" + "\n".join(tail))

    def kill(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None


class Cli:
    """One device driven through the `tessera` CLI."""

    def __init__(self, data: Path):
        self.data = data

    def run(self, *args: str) -> str:
        out = subprocess.run(
            [tessera_bin(), "--data", str(self.data), *args],
            capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "TESSERA_DATA"},
        )
        if out.returncode != 0:
            raise RuntimeError(f"tessera {args}: {out.stderr}")
        return out.stdout.rstrip("\n")

    def sync(self, url: str, relay: Relay, token: str, timeout: int = 60):
        self.run("sync", url, "--relay", relay.url, "--token", token, "--timeout", str(timeout))

    def show_json(self, url: str) -> str:
        return self.run("show", url, "--json")


def token_provider(tessera, ttl: int = 3600, fixed: str = None, expiring: int = None):
    """A token provider for `tessera.Tessera.open` that mints a fresh token (or returns `fixed`)
    each time the core asks, and records the refusal code of each call (None: first connect)."""

    class Provider(tessera.TokenProvider):
        def __init__(self):
            self.calls = []

        def token(self, refused):
            self.calls.append(refused)
            if fixed is not None:
                return fixed
            return mint_expiring(expiring) if expiring else mint(ttl)

    return Provider()


class Tmp:
    """A temporary directory removed at the end of a test."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="tessera-bindings-"))

    def __truediv__(self, name):
        return self.path / name

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def run(coro):
    return asyncio.run(coro)
