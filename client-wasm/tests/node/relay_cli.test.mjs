// The `node` build of the package against the relay in workerd and the `tessera` CLI:
// pages made in Node reach the CLI and back, their toJSON() is byte-identical to
// `tessera show --json`, and a refused token reaches the app as a typed error (once, not as
// endless retries) until a good token is set.
// Run: node --experimental-websocket --test client-wasm/tests/node/ (after `make relay-build`,
// `client-wasm/build-pkg.sh` and `cargo build -p tessera-cli --bin tessera`).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

import { example } from "../support/readme.mjs";
import { cli, root, startRelay, token, until } from "../support/relay.mjs";

const require = createRequire(import.meta.url);
const { Tessera, isTesseraError } = require(join(root, "client-wasm/pkg/node/tessera.js"));

let relay;
let dataDir;
before(async () => {
  relay = await startRelay("wasm-node");
  dataDir = mkdtempSync(join(tmpdir(), "tessera-wasm-cli-"));
});
after(() => {
  relay?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const open = (extra = {}) => Tessera.open({ relay: relay.url, token: token(), storage: { type: "memory" }, ...extra });

test("a page made in Node reaches the CLI and back, byte-identical to tessera show --json", async () => {
  const tessera = cli(dataDir);
  const a = await open();
  const page = await a.create("made in node");
  const events = [];
  const unsubscribe = page.subscribe((e) => events.push(e));
  const { created: heading } = await page.addBlock({ kind: "heading", level: 2 }, "Groceries");
  const { created: todo } = await page.apply({ type: "addBlock", kind: { kind: "todo", checked: false }, text: "milk and eggs", target: { type: "after", block: heading } });
  await page.mark(todo, 0, 4, { name: "bold" });
  await page.mark(todo, 9, 13, { name: "link", value: "https://example.com/eggs" });
  await page.setKind(todo, { kind: "todo", checked: true });
  await page.synced();
  assert.equal(page.status.sync.state, "inSync");
  assert.ok(events.some((e) => e.type === "change" && e.origin === "local"), "local changes were announced");
  assert.ok(events.some((e) => e.type === "status" && e.status.sync.state === "inSync"), "the in-sync status was announced");

  tessera("sync", page.url, "--relay", relay.url, "--token", token(), "--timeout", "30");
  assert.equal(tessera("show", page.url, "--json").trim(), JSON.stringify(page.toJSON()));

  // A block the CLI adds arrives in Node as a remote change.
  const fromCli = tessera("add", page.url, "--kind", "quote", "--text", "from the CLI").trim();
  tessera("sync", page.url, "--relay", relay.url, "--token", token(), "--timeout", "30");
  await until("Node sees the CLI's block", () => page.toJSON().blocks.some((b) => b.id === fromCli));
  assert.ok(events.some((e) => e.type === "change" && e.origin === "remote"), "the remote change was announced");
  await page.synced();
  assert.equal(tessera("show", page.url, "--json").trim(), JSON.stringify(page.toJSON()));
  assert.deepEqual(page.toJSON().blocks.map((b) => b.kind), ["heading", "todo", "quote"]);

  unsubscribe();
  const seen = events.length;
  await page.setTitle("renamed");
  assert.equal(events.length, seen, "no events after unsubscribe");

  // A second Node device finds the page through the relay.
  const b = await open();
  const copy = await b.find(page.url);
  await copy.synced();
  await page.synced();
  assert.equal(JSON.stringify(copy.toJSON()), JSON.stringify(page.toJSON()));
  assert.equal((await b.list()).length, 1);
  await a.close();
  await b.close();
});

test("a refused token is a typed refusal, asked for once, until a good token is set", async () => {
  const a = await open();
  const page = await a.create("guarded");
  await page.synced();

  const asked = [];
  const bad = token({}, "not the relay's secret");
  const c = await open({ token: bad, tokenProvider: (code) => { asked.push(code); return bad; } });
  const copy = await c.find(page.url);
  const states = [];
  copy.subscribe((e) => { if (e.type === "status") states.push(e.status.sync.state); });
  const err = await copy.synced().then(() => null, (e) => e);
  assert.ok(isTesseraError(err), `expected a TesseraError, got ${err}`);
  assert.equal(err.code, "auth_failed");
  assert.equal(copy.status.sync.state, "tokenNeeded");
  assert.equal(copy.status.sync.code, "auth_failed");
  // The provider is asked once; its token is refused too, and then the client waits.
  assert.deepEqual(asked, ["auth_failed"], "the provider was asked once");
  assert.equal(copy.statusText, "the relay refused the token (auth_failed): token signature is invalid");
  const seen = states.join(" ");
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(asked, ["auth_failed"], "the provider was asked once");
  assert.equal(states.join(" "), seen, "no retry loop");
  assert.ok(seen.includes("refreshingToken connecting tokenNeeded"), seen);

  c.setToken(token());
  await copy.synced();
  assert.equal(JSON.stringify(copy.toJSON()), JSON.stringify(page.toJSON()));
  await a.close();
  await c.close();
});

test("errors carry codes", async () => {
  const bad = await Tessera.open({ relay: "ftp://nowhere" }).then(() => null, (e) => e);
  assert.ok(isTesseraError(bad));
  assert.equal(bad.code, "bad_options");
  const a = await Tessera.open({ storage: { type: "memory" } });
  assert.equal((await a.find("not a url").then(() => null, (e) => e)).code, "bad_url");
  const page = await a.create("local only");
  assert.equal(page.status.sync.state, "offline");
  assert.throws(() => page.apply({ type: "explode" }), (e) => e.code === "bad_edit");
  assert.throws(() => page.delete("00000000000000aa"), (e) => e.code === "edit_refused");
  await a.close();
  assert.equal((await a.create("x").then(() => null, (e) => e)).code, "closed");
});

test("npm pack gives an installable package whose README example works in Node", async () => {
  const app = mkdtempSync(join(tmpdir(), "tessera-wasm-app-"));
  try {
    const tgz = execFileSync("npm", ["pack", "--pack-destination", app, "--silent"], { cwd: join(root, "client-wasm/pkg"), encoding: "utf8" }).trim().split("\n").pop();
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", join(app, tgz)], { cwd: app, encoding: "utf8" });
    writeFileSync(join(app, "package.json"), JSON.stringify({ type: "module", private: true }));
    writeFileSync(join(app, "example.mjs"), example("node", { relay: relay.url, token: "" }));
    const out = execFileSync(process.execPath, ["--experimental-websocket", "example.mjs"], {
      cwd: app, encoding: "utf8", timeout: 60000, env: { ...process.env, TESSERA_TOKEN: token() },
    });
    const [url, json] = [out.slice(0, out.indexOf(" ")), out.slice(out.indexOf(" ") + 1)];
    const page = JSON.parse(json);
    assert.equal(page.url, url);
    assert.equal(page.title, "From Node");
    assert.equal(page.blocks[0].text, "Hello");
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
