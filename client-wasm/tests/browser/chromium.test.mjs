// The package's `web` build in headless Debian Chromium (playwright-core), against the relay in
// workerd: the IndexedDB store keeps pages across a reload and a killed tab, the package runs
// in a dedicated worker and a service worker (as in an extension), two browser devices
// (contexts with their own storage) converge after offline edits of the same block (text,
// marks, moves) to the JSON the `tessera` CLI prints, and refused tokens reach the page as
// typed refusals without a retry loop. Tabs sharing a database: tabs.test.mjs; the service
// worker's keepalive: keepalive.test.mjs.
// Run: node --test client-wasm/tests/browser/ (after `make relay-build`,
// `client-wasm/build-pkg.sh` and `cargo build -p tessera-cli --bin tessera`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { device, open, suiteWithBrowser } from "../support/browser.mjs";
import { example } from "../support/readme.mjs";
import { cli, token, until } from "../support/relay.mjs";

let relay, site, browser, tmp;
suiteWithBrowser("wasm-browser", (s) => ({ relay, site, browser, tmp } = s));

test("IndexedDB keeps pages across reopening, a reload and a killed tab", async () => {
  const { context, page } = await device(browser, site);
  const first = await page.evaluate(async () => {
    const t = await Tessera.open({ storage: { type: "indexeddb", name: "keep" } });
    const p = await t.create("stored");
    const { created } = await p.addBlock({ kind: "paragraph" }, "hello");
    // More saves than the core folds into one snapshot (256): appends, then a replace.
    for (let i = 0; i < 300; i++) await p.insertText(created, 5, "!");
    await p.mark(created, 0, 5, { name: "italic" });
    await t.create("second");
    const json = JSON.stringify(p.toJSON());
    await t.close();
    return { url: p.url, json, storageId: t.storageId };
  });
  assert.equal(JSON.parse(first.json).blocks[0].text, "hello" + "!".repeat(300));

  await page.reload();
  await page.waitForFunction(() => window.tesseraReady === true);
  const reopened = await page.evaluate(async (url) => {
    const t = await Tessera.open({ storage: { type: "indexeddb", name: "keep" } });
    const list = await t.list();
    const p = await t.find(url);
    const json = JSON.stringify(p.toJSON());
    // An edit whose promise resolved, then the tab is killed without closing anything.
    await p.setTitle("stored, then killed");
    return { list, json, storageId: t.storageId };
  }, first.url);
  assert.deepEqual(reopened.list.map((s) => s.title), ["stored", "second"]);
  assert.equal(reopened.json, first.json);
  assert.equal(reopened.storageId, first.storageId, "the store keeps its id");

  const crashed = new Promise((r) => page.once("crash", r));
  const cdp = await context.newCDPSession(page);
  cdp.send("Page.crash").catch(() => {});
  await crashed;
  const tab = await open(context, site);
  const title = await tab.evaluate(async (url) => {
    const t = await Tessera.open({ storage: { type: "indexeddb", name: "keep" } });
    return (await t.find(url)).toJSON().title;
  }, first.url);
  assert.equal(title, "stored, then killed");
  await context.close();
});

test("the package runs in a dedicated worker and in a service worker, on IndexedDB shared with the page", async () => {
  const { context, page } = await device(browser, site);
  const args = { relay: relay.url, token: token() };
  const results = await page.evaluate(async (args) => {
    const worker = new Worker("/worker.js", { type: "module" });
    const inWorker = await new Promise((ok) => { worker.onmessage = (e) => ok(e.data); worker.postMessage({ ...args, name: "from-worker" }); });
    worker.terminate();
    const reg = await navigator.serviceWorker.register("/sw.js", { type: "module" });
    await navigator.serviceWorker.ready;
    const inServiceWorker = await new Promise((ok) => {
      navigator.serviceWorker.onmessage = (e) => ok(e.data);
      (reg.active ?? reg.waiting ?? reg.installing).postMessage({ ...args, name: "from-service-worker" });
    });
    // The page reads what each context stored in its IndexedDB database.
    const reread = [];
    for (const [name, r] of [["from-worker", inWorker], ["from-service-worker", inServiceWorker]]) {
      if (r.error) return { inWorker, inServiceWorker };
      const t = await Tessera.open({ storage: { type: "indexeddb", name } });
      reread.push(JSON.stringify((await t.find(r.url)).toJSON()));
      await t.close();
    }
    return { inWorker, inServiceWorker, reread };
  }, args);
  assert.equal(results.inWorker.error, undefined, results.inWorker.error);
  assert.equal(results.inServiceWorker.error, undefined, results.inServiceWorker.error);
  assert.equal(JSON.parse(results.inWorker.json).blocks[0].text, "hello from a dedicated worker");
  assert.equal(JSON.parse(results.inServiceWorker.json).blocks[0].text, "hello from a service worker");
  assert.deepEqual(results.reread, [results.inWorker.json, results.inServiceWorker.json]);
  // Both reached the relay: the CLI fetches them.
  const tessera = cli(tmp.dir);
  for (const r of [results.inWorker, results.inServiceWorker]) {
    tessera("sync", r.url, "--relay", relay.url, "--token", args.token, "--timeout", "30");
    assert.equal(tessera("show", r.url, "--json").trim(), r.json);
  }
  await context.close();
});

test("two browser devices converge after offline edits, byte-identical to tessera show --json", async () => {
  const tok = token();
  const a = await device(browser, site);
  const b = await device(browser, site);
  const setup = await a.page.evaluate(async ({ relay, tok }) => {
    window.client = await Tessera.open({ relay, token: tok, storage: { type: "indexeddb", name: "device" } });
    window.p = await client.create("shared page");
    const { created: text } = await p.addBlock({ kind: "paragraph" }, "the same block");
    const { created: todo } = await p.addBlock({ kind: "todo" }, "move me");
    const { created: section } = await p.addBlock({ kind: "heading", level: 1 }, "section");
    await p.synced();
    return { url: p.url, text, todo, section };
  }, { relay: relay.url, tok });
  const { url, text, todo, section } = setup;

  await b.page.evaluate(async ({ relay, tok, url }) => {
    window.client = await Tessera.open({ relay, token: tok, storage: { type: "indexeddb", name: "device" } });
    window.p = await client.find(url);
    await p.synced();
    p.goOffline();
  }, { relay: relay.url, tok, url });

  // Concurrent edits of one block's text and marks, and conflicting moves of another.
  await b.page.evaluate(async ({ text, todo, section }) => {
    await p.insertText(text, 0, "B: ");
    await p.mark(text, 0, 2, { name: "bold" });
    await p.move(todo, { type: "end", parent: section });
    await p.setKind(todo, { kind: "todo", checked: true });
  }, setup);
  await a.page.evaluate(async ({ text, todo }) => {
    await p.insertText(text, 14, " (A)");
    await p.mark(text, 4, 8, { name: "link", value: "https://example.com/a" });
    await p.move(todo, { type: "start", parent: null });
    await p.synced();
  }, setup);
  const offline = await b.page.evaluate(() => p.status.sync.state);
  assert.equal(offline, "offline");

  await b.page.evaluate(() => p.goOnline());
  const json = (d) => d.page.evaluate(() => JSON.stringify(p.toJSON()));
  await until("the devices converge", async () => (await json(a)) === (await json(b)));
  await Promise.all([a.page.evaluate(() => p.synced()), b.page.evaluate(() => p.synced())]);
  const merged = await json(a);
  assert.equal(merged, await json(b));
  const view = JSON.parse(merged);
  const block = view.blocks.find((x) => x.id === text);
  assert.equal(block.text, "B: the same block (A)");
  assert.deepEqual(block.marks.map((m) => m.name).sort(), ["bold", "link"]);
  const all = (bs) => bs.flatMap((x) => [x, ...all(x.children)]);
  assert.equal(all(view.blocks).filter((x) => x.id === todo).length, 1, "the moved block appears once");

  const tessera = cli(tmp.dir);
  tessera("sync", url, "--relay", relay.url, "--token", tok, "--timeout", "30");
  assert.equal(tessera("show", url, "--json").trim(), merged);
  await a.context.close();
  await b.context.close();
});

test("a bad or expired token reaches the page as a typed refusal, not endless retries", async () => {
  const { context, page } = await device(browser, site);
  const cases = [["bad signature", token({}, "wrong secret"), "auth_failed"], ["expired", token({ exp: Math.floor(Date.now() / 1000) - 60 }), "token_expired"]];
  for (const [what, tok, code] of cases) {
    const seen = await page.evaluate(async ({ relay, tok }) => {
      let sockets = 0;
      class Counting extends WebSocket { constructor(u) { super(u); sockets++; } }
      const t = await Tessera.open({ relay, token: tok, storage: { type: "memory" }, WebSocket: Counting });
      const p = await t.create("refused");
      const err = await p.synced().then(() => null, (e) => e);
      const status = p.status;
      await new Promise((r) => setTimeout(r, 1500));
      const result = { typed: isTesseraError(err), name: err?.name, code: err?.code, status, later: p.status, sockets };
      await t.close();
      return result;
    }, { relay: relay.url, tok });
    assert.ok(seen.typed, `${what}: a TesseraError`);
    assert.equal(seen.code, code, what);
    assert.equal(seen.status.sync.state, "tokenNeeded", what);
    assert.equal(seen.status.sync.code, code, what);
    assert.deepEqual(seen.later, seen.status, `${what}: the page waits for a token`);
    assert.equal(seen.sockets, 1, `${what}: one connection, no retries`);
  }
  await context.close();
});

test("the README's browser example works when pasted into a page", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()} ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror ${e.message}`));
  // The page maps the bare specifier "@tessera/client" to the package's web build, as an
  // import map or a bundler does for an app.
  await page.goto(`${site.url}/blank.html`);
  await page.addScriptTag({ type: "module", content: example("browser", { relay: relay.url, token: token() }) });
  await until("the example printed the page", () => logs.some((l) => l.startsWith("log {")), 30000);
  const printed = JSON.parse(logs.find((l) => l.startsWith("log {")).slice(4));
  assert.equal(printed.title, "Groceries");
  assert.deepEqual(printed.blocks[0].props, { checked: true });
  assert.ok(logs.includes("log sync: inSync"), logs.join("\n"));
  assert.ok(logs.includes("log stored in sqlite"), logs.join("\n"));
  assert.ok(!logs.some((l) => l.startsWith("error") || l.startsWith("pageerror")), logs.join("\n"));
  await context.close();
});
