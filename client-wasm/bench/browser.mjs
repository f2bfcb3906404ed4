// Figures of the browser client, in one run against the relay in workerd (not a test):
//   - edit→visible between two browser devices (Chromium contexts with their own IndexedDB),
//     p50 and p99 over sequential edits, next to two native devices (client-native, SQLite
//     with fsync per edit; bench/wasm-native) measured the same way through the same relay;
//   - edit→stored with two tabs sharing one IndexedDB database: in the leading tab, and in a
//     tab it serves (the edit goes to the leader over a BroadcastChannel, and the answer back);
//   - cold open of a 10k-edit page after a reload (open + find + toJSON), from each durable
//     browser store (IndexedDB; SQLite on OPFS, which includes starting its worker and loading
//     its wasm), next to the native client's cold open of the same page from SQLite (`tessera
//     show --json`, a whole process);
//   - the gzipped size of the package's web build (printed by build-pkg.sh before this runs).
// Run: make bench-wasm (builds the optimized package, the relay and the CLI first).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { launch, device, open, scratch, serve } from "../tests/support/browser.mjs";
import { cli, root, startRelay, token } from "../tests/support/relay.mjs";

const EDITS = Number(process.env.BENCH_WASM_EDITS ?? 200);
const LARGE = Number(process.env.BENCH_WASM_LARGE ?? 10000);

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const ms = (x) => `${x.toFixed(2)} ms`;

const [relay, site, browser] = await Promise.all([startRelay("wasm-bench"), serve(), launch()]);
const tmp = scratch();
try {
  const tok = token();
  const a = await device(browser, site);
  const b = await device(browser, site);
  const { url, block } = await a.page.evaluate(async ({ relay, tok }) => {
    window.client = await Tessera.open({ relay, token: tok, storage: { type: "indexeddb", name: "bench" } });
    window.p = await client.create("bench");
    const { created } = await p.addBlock({ kind: "paragraph" }, "");
    await p.synced();
    return { url: p.url, block: created };
  }, { relay: relay.url, tok });
  await b.page.evaluate(async ({ relay, tok, url, block }) => {
    window.client = await Tessera.open({ relay, token: tok, storage: { type: "indexeddb", name: "bench" } });
    window.p = await client.find(url);
    await p.synced();
    // Wall-clock time (sub-ms) at which each marker became visible here.
    window.seen = new Map();
    p.subscribe((e) => {
      if (e.type !== "change" || e.origin !== "remote") return;
      const t = performance.timeOrigin + performance.now();
      const text = p.toJSON().blocks.find((x) => x.id === block).text;
      for (const m of text.matchAll(/<(\d+)>/g)) if (!seen.has(+m[1])) seen.set(+m[1], t);
    });
  }, { relay: relay.url, tok, url, block });

  const latencies = [];
  for (let i = 0; i < EDITS; i++) {
    const sent = await a.page.evaluate(({ block, i }) => {
      const t = performance.timeOrigin + performance.now();
      p.setText(block, `<${i}>`);
      return t;
    }, { block, i });
    const seenAt = await b.page.waitForFunction((i) => window.seen.get(i), i, { polling: 5, timeout: 10000 });
    latencies.push((await seenAt.jsonValue()) - sent);
  }

  // Two tabs of one origin on one database: each edit awaited until stored.
  const tabs = await browser.newContext();
  const [lead, follow] = [await open(tabs, site), await open(tabs, site)];
  const tabsUrl = await lead.evaluate(async () => {
    window.client = await Tessera.open({ storage: { type: "indexeddb", name: "tabs" } });
    window.p = await client.create("tabs");
    window.b = (await p.addBlock({ kind: "paragraph" }, "")).created;
    return p.url;
  });
  await follow.evaluate(async (url) => {
    window.client = await Tessera.open({ storage: { type: "indexeddb", name: "tabs" } });
    window.p = await client.find(url);
    window.b = p.toJSON().blocks[0].id;
  }, tabsUrl);
  const stored = (tab) => tab.evaluate(async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await p.setText(b, `<${i}>`);
      out.push(performance.now() - t);
    }
    return out;
  }, EDITS);
  const leaderEdits = await stored(lead);
  const followerEdits = await stored(follow);
  await tabs.close();

  const target = process.env.CARGO_TARGET_DIR || join(root, "target");
  const [nativeP50, nativeP99] = execFileSync(join(target, "release/wasm-bench-native"), [relay.url, tok, String(EDITS)], { encoding: "utf8", timeout: 300000 })
    .trim().split(" ").map(Number);

  // A 10k-edit page, typed one character at a time, synced to the relay.
  const large = await a.page.evaluate(async (n) => {
    const page = await client.create("large");
    const { created } = await page.addBlock({ kind: "paragraph" }, "");
    let last;
    for (let i = 0; i < n; i++) last = page.insertText(created, i, String.fromCharCode(97 + (i % 26)));
    await last;
    await page.synced();
    return page.url;
  }, LARGE);
  await a.context.close();

  // Native: the CLI fetches it into SQLite, then a cold `show --json` reads it back.
  const tessera = cli(tmp.dir);
  tessera("sync", large, "--relay", relay.url, "--token", tok, "--timeout", "60");
  const native = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    tessera("show", large, "--json");
    native.push(performance.now() - t);
  }

  // Browser: a device that synced it into the store, reloaded, opens it cold.
  const coldOpen = async (type) => {
    const c = await device(browser, site);
    await c.page.evaluate(async ({ relay, tok, large, type }) => {
      const client = await Tessera.open({ relay, token: tok, storage: { type, name: "cold" } });
      await (await client.find(large)).synced();
      await client.close();
    }, { relay: relay.url, tok, large, type });
    const times = [];
    for (let i = 0; i < 5; i++) {
      await c.page.reload();
      await c.page.waitForFunction(() => window.tesseraReady === true);
      times.push(await c.page.evaluate(async ({ large, type }) => {
        const t = performance.now();
        const client = await Tessera.open({ storage: { type, name: "cold" }, online: false });
        const page = await client.find(large);
        const chars = page.toJSON().blocks[0].text.length;
        const dt = performance.now() - t;
        if (!chars) throw new Error("empty page");
        await client.close();
        return dt;
      }, { large, type }));
    }
    await c.context.close();
    return times;
  };
  const wasm = await coldOpen("indexeddb");
  const wasmSqlite = await coldOpen("sqlite");

  console.log(`client-wasm bench (Chromium ${browser.version()}, relay in workerd on loopback)`);
  console.log(`  edit→visible through the relay, ${EDITS} sequential edits:`);
  console.log(`    browser → browser (IndexedDB, strict)   p50 ${ms(pct(latencies, 50))}, p99 ${ms(pct(latencies, 99))}`);
  console.log(`    native → native (SQLite, fsync)         p50 ${ms(nativeP50)}, p99 ${ms(nativeP99)}`);
  console.log(`  edit→stored, two tabs on one IndexedDB database, ${EDITS} sequential edits:`);
  console.log(`    in the leading tab                      p50 ${ms(pct(leaderEdits, 50))}, p99 ${ms(pct(leaderEdits, 99))}`);
  console.log(`    in a tab it serves (through the leader) p50 ${ms(pct(followerEdits, 50))}, p99 ${ms(pct(followerEdits, 99))}`);
  console.log(`  cold open of a ${LARGE}-edit page (median of 5):`);
  console.log(`    browser, IndexedDB (open + find + toJSON)      ${ms(pct(wasm, 50))}`);
  console.log(`    browser, SQLite on OPFS (worker start + same)  ${ms(pct(wasmSqlite, 50))}`);
  console.log(`    native, SQLite (tessera show --json, process)  ${ms(pct(native, 50))}`);
} finally {
  await browser.close();
  await site.close();
  relay.stop();
  tmp.remove();
}
