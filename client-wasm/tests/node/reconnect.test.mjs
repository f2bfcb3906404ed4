// The node build's WebSocket shell under the core's reconnect back-off: when the relay in
// workerd goes away the page reports `retrying`, edits made meanwhile are saved locally, and
// once the relay is back (same port and state) the page reconnects by itself and syncs them.
// Run: node --experimental-websocket --test client-wasm/tests/node/ (after `make relay-build`
// and `client-wasm/build-pkg.sh`).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { root, startRelay, token, until } from "../support/relay.mjs";

const require = createRequire(import.meta.url);
const { Tessera } = require(join(root, "client-wasm/pkg/node/tessera.js"));

let relay;
before(async () => { relay = await startRelay("wasm-reconnect"); });
after(() => relay?.stop());

test("a page reconnects with the core's back-off after the relay restarts", async () => {
  const open = () => Tessera.open({ relay: relay.url, token: token(), storage: { type: "memory" } });
  const a = await open();
  const page = await a.create("survives a relay restart");
  await page.synced();
  const states = [];
  page.subscribe((e) => { if (e.type === "status") states.push(e.status.sync.state); });

  await relay.kill();
  await until("the page notices the relay is gone", () => page.status.sync.state === "retrying", 20000);
  const { created } = await page.addBlock({ kind: "paragraph" }, "written while the relay was down");
  assert.equal(page.status.sync.state, "retrying");
  assert.equal(page.status.unsaved, false, "saved locally");

  await relay.restart();
  await page.synced();
  assert.ok(states.filter((s) => s === "connecting").length >= 1, `reconnect attempts: ${states.join(" ")}`);

  const b = await open();
  const copy = await b.find(page.url);
  await copy.synced();
  assert.equal(copy.toJSON().blocks[0].id, created);
  assert.equal(JSON.stringify(copy.toJSON()), JSON.stringify(page.toJSON()));
  await a.close();
  await b.close();
});
