// Interop with the unmodified automerge-repo JS client: repo A creates a document through the
// relay, repo B finds it and sees A's later change. Starts its own relay (scripts/relay.sh,
// RELAY_NO_BUILD=1: build first with `make relay-build`) on a free port with a temp state dir.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const secret = readFileSync(join(root, ".dev.vars.example"), "utf8").match(/TESSERA_JWT_SECRET=(.*)/)[1].trim();
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
function token(claims) {
  const head = b64({ alg: "HS256", typ: "JWT" }) + "." + b64(claims);
  return head + "." + createHmac("sha256", secret).update(head).digest("base64url");
}
const freePort = () => new Promise((ok) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, pred, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await pred()) return; await sleep(100); }
  throw new Error(`timed out: ${what}`);
}

const port = await freePort();
const state = mkdtempSync(join(tmpdir(), "tessera-interop-"));
const relay = spawn(join(root, "scripts/relay.sh"), ["serve", String(port), join(state, "wrangler")], {
  env: { ...process.env, RELAY_NO_BUILD: "1", XDG_CONFIG_HOME_RELAY: join(state, "xdg") },
  detached: true, stdio: ["ignore", "ignore", "inherit"],
});
const stop = () => { try { process.kill(-relay.pid, "SIGKILL"); } catch {} };
process.on("exit", stop);
const watchdog = setTimeout(() => { console.error("interop: overall timeout"); process.exit(1); }, 120000);

try {
  await until("relay health", async () => { try { return (await fetch(`http://127.0.0.1:${port}/health`)).ok; } catch { return false; } }, 90000);
  const tok = token({ sub: "js", tenant: "interop", docs: "*", scope: "write", exp: Math.floor(Date.now() / 1000) + 3600 });

  const repoA = new Repo({ network: [] });
  const handleA = repoA.create({ text: "hello from A" });
  const id = handleA.documentId;
  const url = `ws://127.0.0.1:${port}/v1/docs/${id}?token=${tok}`;
  repoA.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url));

  // The relay has it once its snapshot holds A's text (short strings are stored uncompressed).
  await until("relay stores A's document", async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/docs/${id}/snapshot`, { headers: { authorization: `Bearer ${tok}` } });
    return r.ok && Buffer.from(await r.arrayBuffer()).includes("hello from A");
  });
  const repoB = new Repo({ network: [new WebSocketClientAdapter(url)] });
  const handleB = await repoB.find(id);
  await until("B sees A's document", () => handleB.doc()?.text === "hello from A");
  handleA.change((d) => { d.count = 42; });
  await until("B sees A's change", () => handleB.doc()?.count === 42);
  handleB.change((d) => { d.text = "hello from B"; });
  await until("A sees B's change", () => handleA.doc()?.text === "hello from B");
  console.log(`interop ok: doc ${id}`);
  clearTimeout(watchdog);
  stop();
  process.exit(0);
} catch (e) {
  console.error("interop FAILED:", e.message);
  stop();
  process.exit(1);
}
