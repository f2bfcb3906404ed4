// Interop with the unmodified automerge-repo JS client and the Rust CLI: JS repo A creates a page
// through the relay; JS repo B and the `tessera` binary (tessera-cli) both find it and see every
// change (same title, block text and heads); a block the Rust client adds reaches both JS repos.
// Starts its own relay (scripts/relay.sh, RELAY_NO_BUILD=1: build first with `make relay-build`)
// on a free port with a temp state dir. The CLI comes from $TESSERA_BIN, else
// $CARGO_TARGET_DIR/debug/tessera, else target/debug/tessera (`cargo build -p tessera-cli --bin tessera`).
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as Automerge from "@automerge/automerge";
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
const stop = () => {
  try { process.kill(-relay.pid, "SIGKILL"); } catch {}
  rmSync(state, { recursive: true, force: true });
};
process.on("exit", stop);
const watchdog = setTimeout(() => { console.error("interop: overall timeout"); process.exit(1); }, 240000);

try {
  await until("relay health", async () => { try { return (await fetch(`http://127.0.0.1:${port}/health`)).ok; } catch { return false; } }, 90000);
  const tok = token({ sub: "js", tenant: "interop", docs: "*", scope: "write", exp: Math.floor(Date.now() / 1000) + 3600 });
  const relayUrl = `http://127.0.0.1:${port}`;

  // A page in the shape sync-core's model reads (sync-core/src/model): title text, blocks map;
  // a block's kind and location register are plain strings, its text is collaborative text.
  const block = (text, position) => ({
    kind: new Automerge.ImmutableString("paragraph"), props: {}, text,
    loc: new Automerge.ImmutableString(`|${position}||`),
  });
  const repoA = new Repo({ network: [] });
  const handleA = repoA.create({ title: "hello from A", blocks: {} });
  const id = handleA.documentId;
  const url = `ws://127.0.0.1:${port}/v1/docs/${id}?token=${tok}`;
  repoA.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url));

  // The relay has it once its snapshot holds A's title (short strings are stored uncompressed).
  await until("relay stores A's document", async () => {
    const r = await fetch(`${relayUrl}/v1/docs/${id}/snapshot`, { headers: { authorization: `Bearer ${tok}` } });
    return r.ok && Buffer.from(await r.arrayBuffer()).includes("hello from A");
  });

  // The Rust client: the `tessera` CLI with its own SQLite data directory.
  const target = process.env.CARGO_TARGET_DIR || join(root, "target");
  const bin = process.env.TESSERA_BIN || join(target, "debug/tessera");
  if (!existsSync(bin)) throw new Error(`no ${bin}: cargo build -p tessera-cli --bin tessera`);
  const data = join(state, "rust-client");
  const tessera = (...args) => execFileSync(bin, ["--data", data, ...args], { encoding: "utf8", timeout: 60000 });
  const rustSync = () => tessera("sync", handleA.url, "--relay", relayUrl, "--token", tok, "--timeout", "30");
  const rustPage = () => JSON.parse(tessera("show", handleA.url, "--json"));
  const headsOf = (h) => [...Automerge.getHeads(h.doc())].sort();
  const same = (x, y) => JSON.stringify(x) === JSON.stringify(y);

  // B and the Rust client both find A's document.
  const repoB = new Repo({ network: [new WebSocketClientAdapter(url)] });
  const handleB = await repoB.find(id);
  await until("B sees A's document", () => handleB.doc()?.title === "hello from A");
  rustSync();
  let page = rustPage();
  if (page.title !== "hello from A") throw new Error(`Rust client found ${JSON.stringify(page)}`);

  // Every later change, from A and from B, reaches the other JS repo and the Rust client.
  handleA.change((d) => { d.blocks.a1a1a1a1a1a1a1a1 = block("first block from A", "V"); });
  handleA.change((d) => { Automerge.updateText(d, ["title"], "hello from A, edited"); });
  await until("B sees A's changes", () => handleB.doc()?.blocks?.a1a1a1a1a1a1a1a1?.text === "first block from A"
    && handleB.doc().title === "hello from A, edited");
  handleB.change((d) => { Automerge.updateText(d, ["blocks", "a1a1a1a1a1a1a1a1", "text"], "first block, edited by B"); });
  await until("A sees B's change", () => handleA.doc().blocks.a1a1a1a1a1a1a1a1.text === "first block, edited by B");
  await until("A and B agree on heads", () => same(headsOf(handleA), headsOf(handleB)));
  rustSync();
  page = rustPage();
  const want = { title: "hello from A, edited", blocks: [["a1a1a1a1a1a1a1a1", "paragraph", "first block, edited by B"]], heads: headsOf(handleA) };
  const got = { title: page.title, blocks: page.blocks.map((b) => [b.id, b.kind, b.text]), heads: page.heads };
  if (!same(got, want)) throw new Error(`Rust client misses changes:\n  got  ${JSON.stringify(got)}\n  want ${JSON.stringify(want)}`);

  // A change made by the Rust client reaches both JS repos.
  const rustBlock = tessera("add", handleA.url, "--kind", "paragraph", "--text", "hello from Rust").trim();
  rustSync();
  for (const [name, h] of [["A", handleA], ["B", handleB]]) {
    await until(`${name} sees the Rust client's block ${rustBlock}`, () => h.doc()?.blocks?.[rustBlock]?.text === "hello from Rust");
  }
  page = rustPage();
  await until("A, B and the Rust client agree on heads", () => same(headsOf(handleA), page.heads) && same(headsOf(handleB), page.heads));
  if (!same(page.blocks.map((b) => b.text), ["first block, edited by B", "hello from Rust"])) {
    throw new Error(`Rust client's page: ${JSON.stringify(page.blocks)}`);
  }
  console.log(`interop ok: doc ${id} (JS A, JS B and the tessera CLI agree on heads ${page.heads.join(",")})`);
  clearTimeout(watchdog);
  stop();
  process.exit(0);
} catch (e) {
  console.error("interop FAILED:", e.message);
  stop();
  process.exit(1);
}
