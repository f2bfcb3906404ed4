// The SQLite store (SQLite on OPFS through the sahpool VFS, in a dedicated worker) through the
// package's `web` build in headless Debian Chromium (playwright-core): it is the default in a
// page, keeps pages across a reload and a killed tab, is shared by tabs through the leading
// tab (a killed leader hands it to the next with nothing lost, and a second SQLite worker
// cannot open it behind the leader's back), syncs through the relay in workerd to what the
// `tessera` CLI shows, and where no dedicated worker can run (a service worker) the default is
// IndexedDB.
// Run: node --test client-wasm/tests/browser/sqlite.test.mjs (after `make relay-build`,
// `client-wasm/build-pkg.sh` and `cargo build -p tessera-cli --bin tessera`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

import { device, open, suiteWithBrowser } from "../support/browser.mjs";
import { cli, root, token } from "../support/relay.mjs";

let relay, site, browser, tmp;
suiteWithBrowser("wasm-sqlite", (s) => ({ relay, site, browser, tmp } = s));

/** The package's SQLite worker script, as served (wasm-bindgen names its directory by a hash). */
function workerScript() {
  const web = join(root, "client-wasm/pkg/web");
  const find = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name === "sqlite_worker.js" ? [join(dir, e.name)] : []);
  const [script] = find(join(web, "snippets"));
  return "/pkg/web/" + relative(web, script);
}

/** Kills the tab's renderer (no unload, no close): a crash. */
async function crash(context, page) {
  const crashed = new Promise((r) => page.once("crash", r));
  const cdp = await context.newCDPSession(page);
  cdp.send("Page.crash").catch(() => {});
  await crashed;
}

test("SQLite is the default in a page and keeps pages across reopening, a reload and a killed tab", async () => {
  const { context, page } = await device(browser, site);
  const first = await page.evaluate(async () => {
    const t = await Tessera.open({});
    const p = await t.create("stored");
    const { created } = await p.addBlock({ kind: "paragraph" }, "hello");
    // More saves than the core folds into one snapshot (256): appends, then a replace.
    for (let i = 0; i < 300; i++) await p.insertText(created, 5, "!");
    await p.mark(created, 0, 5, { name: "italic" });
    await t.create("second");
    const json = JSON.stringify(p.toJSON());
    await t.close();
    return { url: p.url, json, storageId: t.storageId, type: t.storageType };
  });
  assert.equal(first.type, "sqlite");
  assert.match(first.storageId, /^sqlite-[0-9a-f]{32}$/);
  assert.equal(JSON.parse(first.json).blocks[0].text, "hello" + "!".repeat(300));

  await page.reload();
  await page.waitForFunction(() => window.tesseraReady === true);
  const reopened = await page.evaluate(async (url) => {
    const t = await Tessera.open({ storage: { type: "sqlite" } });
    const list = await t.list();
    const p = await t.find(url);
    const json = JSON.stringify(p.toJSON());
    // An edit whose promise resolved, then the tab is killed without closing anything.
    await p.setTitle("stored, then killed");
    return { list, json, storageId: t.storageId };
  }, first.url);
  assert.deepEqual(reopened.list.map((s) => s.title), ["stored", "second"]);
  assert.equal(reopened.json, first.json);
  assert.equal(reopened.storageId, first.storageId, "the default and an explicit sqlite store are one database");

  await crash(context, page);
  const tab = await open(context, site);
  const after = await tab.evaluate(async (url) => {
    const t = await Tessera.open({ storage: { type: "sqlite", name: "tessera" } });
    const p = await t.find(url);
    return { title: p.toJSON().title, text: p.toJSON().blocks[0].text, storageId: t.storageId };
  }, first.url);
  assert.deepEqual(after, { title: "stored, then killed", text: "hello" + "!".repeat(300), storageId: first.storageId });
  // IndexedDB was never written: the default did not fall back.
  const idb = await tab.evaluate(() => indexedDB.databases().then((dbs) => dbs.map((d) => d.name)));
  assert.deepEqual(idb, []);
  await context.close();
});

test("tabs share one SQLite database through the leading tab; killing it hands the database over with nothing lost", async () => {
  const context = await browser.newContext();
  const [one, two] = [await open(context, site), await open(context, site)];
  const openIn = (tab, url) => tab.evaluate(async (url) => {
    window.client = await Tessera.open({ storage: { type: "sqlite", name: "tabs" } });
    window.p = url ? await client.find(url) : await client.create("shared by tabs");
    return { url: p.url, type: client.storageType, id: client.storageId };
  }, url);
  const add = (tab, text) => tab.evaluate((text) => p.addBlock({ kind: "paragraph" }, text).then(() => p.toJSON().blocks.map((b) => b.text)), text);
  const leader = await openIn(one);
  await add(one, "from the leader");
  const follower = await openIn(two, leader.url);
  assert.deepEqual(follower, { ...leader, type: "sqlite" }, "the follower is served the leader's SQLite database");
  assert.deepEqual(await add(two, "from the follower"), ["from the leader", "from the follower"]);

  // The leader's store is single-writer on its own too: a second SQLite worker asking for the
  // same database (what a tab of another version, bypassing the tabs' lock, would do) is
  // refused, because the leader's worker holds every OPFS access handle of it.
  const rogue = await two.evaluate(async (script) => {
    const worker = new Worker(script, { type: "module" });
    const answer = await new Promise((ok) => {
      worker.onmessage = (e) => ok(e.data);
      worker.onerror = (e) => ok({ error: e.message });
      worker.postMessage({ id: 1, kind: "open", name: "tabs", freshId: "rogue" });
    });
    worker.terminate();
    return answer;
  }, workerScript());
  assert.equal(rogue.ok, false, JSON.stringify(rogue));
  assert.equal(rogue.code, "busy", rogue.message);

  await crash(context, one);
  // The follower takes over: it opens the database (the killed tab's lock and OPFS handles
  // are released by the browser) and keeps editing.
  assert.deepEqual(await add(two, "after the leader died"), ["from the leader", "from the follower", "after the leader died"]);
  await two.evaluate(() => client.close());

  const three = await open(context, site);
  const reread = await openIn(three, leader.url);
  assert.equal(reread.id, leader.id);
  assert.deepEqual(await three.evaluate(() => p.toJSON().blocks.map((b) => b.text)),
    ["from the leader", "from the follower", "after the leader died"], "each edit stored once");
  await context.close();
});

test("a page on SQLite syncs through the relay, byte-identical to tessera show --json, and stays in sync after a reload", async () => {
  const { context, page } = await device(browser, site);
  const tok = token();
  const made = await page.evaluate(async ({ relay, tok }) => {
    const t = await Tessera.open({ relay, token: tok });
    const p = await t.create("synced from SQLite");
    const { created } = await p.addBlock({ kind: "heading", level: 2 }, "kept in OPFS");
    await p.mark(created, 0, 4, { name: "bold" });
    await p.synced();
    const out = { url: p.url, json: JSON.stringify(p.toJSON()), type: t.storageType };
    await t.close();
    return out;
  }, { relay: relay.url, tok });
  assert.equal(made.type, "sqlite");
  const tessera = cli(tmp.dir);
  tessera("sync", made.url, "--relay", relay.url, "--token", tok, "--timeout", "30");
  assert.equal(tessera("show", made.url, "--json").trim(), made.json);

  await page.reload();
  await page.waitForFunction(() => window.tesseraReady === true);
  const again = await page.evaluate(async ({ relay, tok, url }) => {
    const t = await Tessera.open({ relay, token: tok });
    const p = await t.find(url);
    await p.synced();
    return JSON.stringify(p.toJSON());
  }, { relay: relay.url, tok, url: made.url });
  assert.equal(again, made.json);
  await context.close();
});

test("where no dedicated worker can run (a service worker) the default is IndexedDB and SQLite is refused", async () => {
  const { context, page } = await device(browser, site);
  const result = await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.register("/sw_storage.js", { type: "module" });
    await navigator.serviceWorker.ready;
    return new Promise((ok) => {
      navigator.serviceWorker.onmessage = (e) => ok(e.data);
      (reg.active ?? reg.waiting ?? reg.installing).postMessage({});
    });
  });
  assert.deepEqual(result, { byDefault: { type: "indexeddb" }, sqlite: { code: "storage_unavailable" } });
  await context.close();
});
