// The keepalive in headless Chromium against the relay in workerd: in a service worker an
// idle connection sends a keepalive frame after 20 s of quiet (by default; a page sends none),
// the relay keeps the connection and forwards nothing to another peer of the document, and
// after the browser stops the worker, reopening the client and `find(url)` resumes syncing
// with an edit stored before the stop.
// Run: node --experimental-websocket --test client-wasm/tests/browser/keepalive.test.mjs
// (after `make relay-build`, `client-wasm/build-pkg.sh` and `cargo build -p tessera-cli`).
import assert from "node:assert/strict";
import { test } from "node:test";

import * as Automerge from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo";

import { device, suiteWithBrowser } from "../support/browser.mjs";
import { cli, sleep, token, until } from "../support/relay.mjs";

let relay, site, browser, tmp;
suiteWithBrowser("wasm-keepalive", (s) => ({ relay, site, browser, tmp } = s));

/** A stock-protocol peer syncing the document through the relay (so the relay would relay
 * ephemeral messages to it), recording every message it gets. */
async function observer(url, tok) {
  const id = url.slice("automerge:".length);
  const ws = new WebSocket(`${relay.url.replace("http", "ws")}/v1/docs/${id}?token=${tok}`);
  ws.binaryType = "arraybuffer";
  const got = [];
  ws.onmessage = (e) => got.push(cbor.decode(new Uint8Array(e.data)));
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  ws.send(cbor.encode({ type: "join", senderId: "observer", supportedProtocolVersions: ["1"], peerMetadata: { isEphemeral: true } }));
  await until("the relay's peer message", () => got.some((m) => m.type === "peer"));
  const relayId = got.find((m) => m.type === "peer").senderId;
  const [, data] = Automerge.generateSyncMessage(Automerge.init(), Automerge.initSyncState());
  ws.send(cbor.encode({ type: "request", senderId: "observer", targetId: relayId, documentId: id, data }));
  await until("the relay's sync answer", () => got.some((m) => m.type === "sync"));
  return { got, close: () => ws.close() };
}

test("a service worker's idle connection sends keepalives the relay drops, and a stopped worker resumes with nothing lost", async () => {
  const { context, page } = await device(browser, site);
  const tok = token();
  const args = { relay: relay.url, token: tok, name: "kept" };
  await page.evaluate(async () => {
    window.reg = await navigator.serviceWorker.register("/keepalive_sw.js", { type: "module" });
    await navigator.serviceWorker.ready;
    window.ask = (msg) => new Promise((ok) => {
      navigator.serviceWorker.onmessage = (e) => ok(e.data);
      reg.active.postMessage(msg);
    });
  });
  const ask = async (msg) => {
    const r = await page.evaluate((m) => ask(m), msg);
    assert.equal(r.error, undefined, r.error);
    return r;
  };
  const { url } = await ask({ op: "start", ...args });
  const watcher = await observer(url, tok);
  // A page client of the same document, without the option: no keepalive outside a worker.
  await page.evaluate(async ({ relay, tok, url }) => {
    window.counts = { keepalives: 0 };
    class Counting extends WebSocket {
      send(d) { if (d.byteLength === 16 && new TextDecoder().decode(d.slice(7)) === "keepalive") counts.keepalives++; super.send(d); }
    }
    window.client = await Tessera.open({ relay, token: tok, storage: { type: "memory" }, WebSocket: Counting });
    window.p = await client.find(url);
    await p.synced();
  }, { relay: relay.url, tok, url });

  const quiet = await ask({ op: "probe" });
  assert.equal(quiet.counts.keepalives, 0, "nothing before 20 s of quiet");
  await sleep(21_000);
  const later = await ask({ op: "probe" });
  assert.equal(later.counts.keepalives, 1, `one keepalive after 20 s of quiet: ${JSON.stringify(later)}`);
  assert.equal(later.counts.other, quiet.counts.other, "and nothing else");
  assert.equal(later.counts.sockets, 1, "the relay kept the connection (no reconnect)");
  assert.equal(later.sync, "inSync");
  assert.equal(await page.evaluate(() => counts.keepalives), 0, "a page sends none by default");
  assert.ok(!watcher.got.some((m) => m.type === "keepalive"), "the relay forwarded no keepalive");
  assert.ok(!watcher.got.some((m) => m.type === "error"), JSON.stringify(watcher.got));
  watcher.close();

  // An edit stored while offline, then the browser stops the worker (its memory is gone).
  const { json: before } = await ask({ op: "editOffline" });
  const cdp = await context.newCDPSession(page);
  await cdp.send("ServiceWorker.enable");
  await cdp.send("ServiceWorker.stopAllWorkers");
  const resumed = await ask({ op: "resume", ...args, url });
  assert.equal(resumed.fresh, true, "the worker restarted with nothing in memory");
  assert.equal(resumed.json, before, "reopened from IndexedDB with the offline edit");
  // It reached the relay: the page client and the CLI see it.
  await until("the page client sees the edit", async () => (await page.evaluate(() => JSON.stringify(p.toJSON()))) === before);
  const tessera = cli(tmp.dir);
  tessera("sync", url, "--relay", relay.url, "--token", tok, "--timeout", "30");
  assert.equal(tessera("show", url, "--json").trim(), before);
  await context.close();
});
