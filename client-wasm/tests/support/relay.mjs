// The relay in real workerd for the client-wasm suites: `scripts/relay.sh serve` on a free
// port with its own state dir (built beforehand: `make relay-build`), HS256 tokens signed with
// the development secret, the `tessera` CLI, and a deadline helper.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

const secret = readFileSync(join(root, ".dev.vars.example"), "utf8").match(/TESSERA_JWT_SECRET=(.*)/)[1].trim();
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** An HS256 token; `key` overrides the relay's secret (to make a token it refuses). */
export function token(claims = {}, key = secret) {
  const full = { sub: "wasm-test", tenant: "wasm", docs: "*", scope: "write", exp: Math.floor(Date.now() / 1000) + 3600, ...claims };
  const head = b64({ alg: "HS256", typ: "JWT" }) + "." + b64(full);
  return head + "." + createHmac("sha256", key).update(head).digest("base64url");
}

export const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` until it holds, or fails naming `what`. */
export async function until(what, pred, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await pred()) return; await sleep(50); }
  throw new Error(`timed out: ${what}`);
}

/** Starts the relay; `stop()` kills it and removes its state. */
/** Starts the relay; `kill()` stops it keeping its state, `restart()` brings it back on the
 * same port and state, `stop()` kills it and removes its state. */
export async function startRelay(name) {
  if (!existsSync(join(root, "build/worker/shim.mjs"))) throw new Error("no build/worker: run `make relay-build` first");
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), `tessera-${name}-`));
  const url = `http://127.0.0.1:${port}`;
  const healthy = async () => { try { return (await fetch(`${url}/health`)).ok; } catch { return false; } };
  let proc;
  const spawnRelay = async () => {
    proc = spawn(join(root, "scripts/relay.sh"), ["serve", String(port), join(state, "wrangler")], {
      cwd: root,
      env: { ...process.env, RELAY_NO_BUILD: "1", XDG_CONFIG_HOME_RELAY: join(state, "xdg") },
      detached: true, stdio: ["ignore", "ignore", "inherit"],
    });
    // A loaded 2-core machine can take minutes to start workerd (main's relay-e2e waits 240 s).
    await until("relay /health", healthy, 240000);
  };
  const kill = async () => {
    try { process.kill(-proc.pid, "SIGKILL"); } catch {}
    await until("the relay is down", async () => !(await healthy()), 10000);
  };
  const stop = () => {
    try { process.kill(-proc.pid, "SIGKILL"); } catch {}
    rmSync(state, { recursive: true, force: true });
  };
  process.on("exit", stop);
  await spawnRelay();
  return { url, port, state, stop, kill, restart: spawnRelay };
}

/** The `tessera` CLI with its own data directory. */
export function cli(dataDir) {
  const target = process.env.CARGO_TARGET_DIR || join(root, "target");
  const bin = process.env.TESSERA_BIN || join(target, "debug/tessera");
  if (!existsSync(bin)) throw new Error(`no ${bin}: cargo build -p tessera-cli --bin tessera`);
  return (...args) => execFileSync(bin, ["--data", dataDir, ...args], { encoding: "utf8", timeout: 60000 });
}
