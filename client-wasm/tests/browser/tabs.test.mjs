// Tabs of one origin sharing one IndexedDB database through one writer, in headless Chromium
// (pages of ONE browser context, so they share storage), against the relay in workerd: the
// first tab leads and the second is served by it; an edit in either is stored once and seen
// by both; closing or killing the leader hands the database to the follower, which keeps
// editing and syncing; edits survive a reload and a killed tab; an edit in flight when the
// leader dies is stored once or rejected with `leader_lost`, never doubled; a follower that
// does not take over follows the new leader; and a malformed message from another tab gets a
// typed refusal.
// Run: node --experimental-websocket --test client-wasm/tests/browser/tabs.test.mjs
// (after `make relay-build`, `client-wasm/build-pkg.sh` and `cargo build -p tessera-cli`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { open, suiteWithBrowser } from "../support/browser.mjs";
import { cli, token, until } from "../support/relay.mjs";

let relay, site, browser, tmp;
suiteWithBrowser("wasm-tabs", (s) => ({ relay, site, browser, tmp } = s));

/** Opens the database in `tab` as `window.client`, with its page `url` (or a new one) as `window.p`. */
const openIn = (tab, { name, url, relay, token }) => tab.evaluate(async ({ name, url, relay, token }) => {
  window.events = [];
  window.client = await Tessera.open({ relay, token, storage: { type: "indexeddb", name } });
  window.p = url ? await client.find(url) : await client.create("shared by tabs");
  p.subscribe((e) => events.push(e.type === "change" ? `change:${e.origin}` : `status:${e.status.sync.state}`));
  return p.url;
}, { name, url, relay, token });

const json = (tab) => tab.evaluate(() => JSON.stringify(p.toJSON()));
const texts = (tab) => tab.evaluate(() => p.toJSON().blocks.map((b) => b.text));
const add = (tab, text) => tab.evaluate((text) => p.addBlock({ kind: "paragraph" }, text).then((a) => a.created), text);

test("two tabs share one database: an edit in either is stored once and seen by both", async () => {
  const context = await browser.newContext();
  const [one, two] = [await open(context, site), await open(context, site)];
  const url = await openIn(one, { name: "shared" });
  await add(one, "from the leader");
  await openIn(two, { name: "shared", url });
  assert.deepEqual(await texts(two), ["from the leader"], "the follower reads the leader's copy");
  assert.equal(await two.evaluate(() => client.storageId), await one.evaluate(() => client.storageId));

  // The follower's edit resolves once the leader stored it; both see it.
  const created = await add(two, "from the follower");
  assert.match(created, /\S/, "the follower gets the new block's id");
  assert.deepEqual(await texts(two), ["from the leader", "from the follower"], "seen by the follower when it resolves");
  await until("the leader sees it", async () => (await texts(one)).length === 2);
  assert.ok((await one.evaluate(() => events)).includes("change:local"), "the leader's listener heard it");

  // And the leader's next edit reaches the follower.
  await add(one, "from the leader again");
  await until("the follower sees it", async () => (await json(two)) === (await json(one)));
  assert.ok((await two.evaluate(() => events)).includes("change:local"), "the follower's listener heard it");
  const listed = await two.evaluate(() => client.list());
  assert.deepEqual(listed.map((r) => [r.url, r.title]), [[url, "shared by tabs"]]);
  assert.equal((await two.evaluate(() => p.status)).sync.state, "offline", "status comes from the leader");
  const refused = await two.evaluate(() => p.insertText("nope", 0, "x").then(() => null, (e) => ({ typed: isTesseraError(e), code: e.code })));
  assert.deepEqual(refused, { typed: true, code: "edit_refused" }, "the leader's refusal keeps its code across tabs");

  // The leader closes while the follower waits in synced() (no relay: for ever): the close
  // completes, and the follower takes over.
  await two.evaluate(() => { window.waiting = p.synced(); });
  await one.evaluate(() => client.close());
  await add(two, "from the follower, leading now");
  await two.evaluate(() => client.close());
  // Stored once: a tab opening the database alone later reads each edit once.
  const three = await open(context, site);
  await openIn(three, { name: "shared", url });
  assert.deepEqual(await texts(three), ["from the leader", "from the follower", "from the leader again", "from the follower, leading now"]);
  await context.close();
});

test("closing the leader hands the database to the follower, which keeps editing and syncing", async () => {
  const tok = token();
  const context = await browser.newContext();
  const [one, two] = [await open(context, site), await open(context, site)];
  const url = await openIn(one, { name: "handover", relay: relay.url, token: tok });
  await add(one, "before the hand-over");
  await openIn(two, { name: "handover", url, relay: relay.url, token: tok });
  await two.evaluate(() => p.synced());

  // A clean close: the leader answers what it runs, then lets the lock go.
  await one.evaluate(() => client.close());
  await add(two, "after a clean hand-over");
  // The tab closes without unload handlers: the next leader must take over again.
  const three = await open(context, site);
  await openIn(three, { name: "handover", url, relay: relay.url, token: tok });
  await add(three, "from a third tab, served by the second");
  await until("the second tab sees it", async () => (await texts(two)).length === 3);
  await two.close({ runBeforeUnload: false });
  await add(three, "after the second tab closed");
  await three.evaluate(() => p.synced());
  const want = await json(three);
  assert.deepEqual(JSON.parse(want).blocks.map((b) => b.text),
    ["before the hand-over", "after a clean hand-over", "from a third tab, served by the second", "after the second tab closed"]);
  const tessera = cli(tmp.dir);
  tessera("sync", url, "--relay", relay.url, "--token", tok, "--timeout", "30");
  assert.equal(tessera("show", url, "--json").trim(), want, "the relay got every edit");
  await context.close();
});

test("edits survive a reload and a killed tab; edits in flight when the leader dies are stored once or rejected", async () => {
  const context = await browser.newContext();
  const [one, two] = [await open(context, site), await open(context, site)];
  const url = await openIn(one, { name: "crash" });
  await openIn(two, { name: "crash", url });
  await add(two, "stored before the crash");

  // Three streams of edits from the follower; the leader's renderer crashes in the middle.
  await two.evaluate(() => {
    window.flight = [];
    const stream = async (s) => {
      for (let i = 0; i < 12; i++) {
        const text = `stream ${s} edit ${i}`;
        await p.addBlock({ kind: "paragraph" }, text).then(() => flight.push({ text, ok: true }),
          (e) => flight.push({ text, ok: false, typed: isTesseraError(e), code: e.code }));
      }
    };
    window.flying = Promise.all([0, 1, 2].map(stream));
  });
  await until("a few edits went through the leader", async () => (await two.evaluate(() => flight.length)) >= 6);
  const crashed = new Promise((r) => one.once("crash", r));
  (await context.newCDPSession(one)).send("Page.crash").catch(() => {});
  await crashed;
  const atCrash = await two.evaluate(() => flight.length);
  await two.evaluate(() => flying);
  const settled = await two.evaluate(() => flight);
  assert.equal(settled.length, 36, "every edit settled");
  for (const s of settled.filter((s) => !s.ok)) assert.deepEqual([s.typed, s.code], [true, "leader_lost"], JSON.stringify(s));
  assert.ok(settled.slice(atCrash + 3).some((s) => s.ok), "edits after the crash are stored by the follower, now leading");
  // The follower took over: it edits on its own now.
  await add(two, "after the leader crashed");
  const after = await texts(two);
  for (const s of settled) {
    const n = after.filter((t) => t === s.text).length;
    assert.ok(n <= 1, `${s.text} stored at most once`);
    if (s.ok) assert.equal(n, 1, `${s.text} resolved, so it is stored`);
  }
  assert.equal(after[0], "stored before the crash");
  assert.equal(after.at(-1), "after the leader crashed");

  // A reload, then a killed tab: each reopened tab reads everything.
  await two.reload();
  await two.waitForFunction(() => window.tesseraReady === true);
  await openIn(two, { name: "crash", url });
  assert.deepEqual(await texts(two), after);
  await add(two, "stored, then this tab was killed");
  const killed = new Promise((r) => two.once("crash", r));
  (await context.newCDPSession(two)).send("Page.crash").catch(() => {});
  await killed;
  const four = await open(context, site);
  await openIn(four, { name: "crash", url });
  assert.deepEqual(await texts(four), [...after, "stored, then this tab was killed"]);
  await context.close();
});

test("with three tabs, the follower that does not take over follows the new leader", async () => {
  const context = await browser.newContext();
  const [one, two, three] = [await open(context, site), await open(context, site), await open(context, site)];
  const url = await openIn(one, { name: "three" });
  await openIn(two, { name: "three", url });
  await openIn(three, { name: "three", url });
  await add(two, "from two");
  await add(three, "from three");
  const crashed = new Promise((r) => one.once("crash", r));
  (await context.newCDPSession(one)).send("Page.crash").catch(() => {});
  await crashed;
  // One of the two takes over; the other's calls and copies move to it.
  await add(two, "two, after the crash");
  await add(three, "three, after the crash");
  const want = ["from two", "from three", "two, after the crash", "three, after the crash"];
  await until("both tabs see every edit", async () =>
    JSON.stringify(await texts(two)) === JSON.stringify(want) && JSON.stringify(await texts(three)) === JSON.stringify(want));
  await context.close();
});

test("a malformed or oversized call from another tab gets a typed refusal", async () => {
  const context = await browser.newContext();
  const [one, two] = [await open(context, site), await open(context, site)];
  await openIn(one, { name: "hostile" });
  const answers = await two.evaluate(async () => {
    const ch = new BroadcastChannel("tessera-tabs:indexeddb:hostile");
    const got = [];
    ch.onmessage = (e) => got.push(e.data);
    const wait = async (pred) => { for (let i = 0; i < 200 && !got.some(pred); i++) await new Promise((r) => setTimeout(r, 25)); return got.find(pred); };
    ch.postMessage({ type: "hello", from: "evil" });
    const leader = (await wait((m) => m.type === "leader")).from;
    ch.postMessage({ type: "call", from: "evil", to: leader, seq: 1, call: { op: "dropTables" } });
    ch.postMessage({ type: "call", from: "evil", to: leader, seq: 2, call: { op: "create", title: "x".repeat(70000) } });
    ch.postMessage({ type: "call", from: "evil", to: leader, seq: 3, call: { op: "find", url: "automerge:nope" } });
    ch.postMessage({ type: "call", from: "evil", to: leader, seq: 4, call: { op: "list" } });
    const reply = (seq) => wait((m) => m.type === "reply" && m.to === "evil" && m.seq === seq);
    const out = [];
    for (const seq of [1, 2, 3, 4]) out.push((await reply(seq))?.outcome);
    ch.close();
    return out;
  });
  assert.deepEqual(answers.slice(0, 2).map((o) => [o?.kind, o?.code]), [["failed", "bad_tab_message"], ["failed", "bad_tab_message"]]);
  assert.deepEqual([answers[2]?.kind, answers[2]?.code], ["failed", "bad_url"]);
  assert.equal(answers[3]?.kind, "rows", "and the leader keeps serving");
  await context.close();
});
