// Load from unmodified automerge-repo JS clients, all in this one process, for P1b (burst) and
// the JS fan-out rows of `tessera-bench`. Prints one JSON line with the samples; the Rust bench
// starts the servers, runs this once per server and prints the table.
//
// Usage: node js-load.mjs SCENARIO URL_TEMPLATE
//   SCENARIO      burst:EDITS          one writer makes EDITS edits as fast as it can (each one
//                                      its own change, yielding to the event loop between
//                                      them), one reader watches
//                 fanout:READERS:EDITS one writer makes EDITS edits at 20 per second, READERS
//                                      readers watch; the sample is the last reader's latency
//   URL_TEMPLATE  the server's WebSocket URL; `{id}` is replaced by the document id (the relay
//                 has one URL per document, the automerge-repo server one for all)
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

const [scenario, template] = process.argv.slice(2);
if (!scenario || !template) {
  console.error("usage: node js-load.mjs burst:EDITS|fanout:READERS:EDITS URL_TEMPLATE");
  process.exit(2);
}
const [kind, ...nums] = scenario.split(":");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));
const watchdog = setTimeout(() => fail("overall timeout (240 s)"), 240_000);
function fail(why) {
  console.error(`js-load: ${why}`);
  process.exit(1);
}

const writerRepo = new Repo({ network: [] });
const writer = writerRepo.create({ text: "" });
const url = template.replace("{id}", writer.documentId);
writerRepo.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url));

/** A reader: its own repo and socket. The server may not hold the document yet (the writer's
 *  upload is in flight), so a find that comes back unavailable is retried with a fresh repo. */
async function reader() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const repo = new Repo({ network: [new WebSocketClientAdapter(url)] });
    try {
      const handle = await repo.find(writer.documentId);
      if (handle.doc()) return handle;
    } catch {
      // unavailable: not uploaded yet
    }
    await repo.shutdown();
    await sleep(100);
  }
  fail("a reader never found the document");
}

/** Calls `seen(n, now)` whenever the reader's text grows to n characters. */
function watch(handle, seen) {
  handle.on("change", ({ doc }) => seen(doc.text.length, performance.now()));
}

const madeAt = [];
function edit(i) {
  writer.change((d) => Automerge.splice(d, ["text"], i, 0, "x"));
  madeAt[i] = performance.now();
}

if (kind === "burst") {
  const edits = Number(nums[0]);
  const handle = await reader();
  const visible = new Array(edits);
  let shown = 0;
  let done;
  const all = new Promise((r) => (done = r));
  watch(handle, (n, now) => {
    for (; shown < Math.min(n, edits); shown++) visible[shown] = now - madeAt[shown];
    if (shown === edits) done(now);
  });
  const start = performance.now();
  for (let i = 0; i < edits; i++) {
    edit(i);
    await tick();
  }
  const end = await all;
  const seconds = (end - start) / 1000;
  console.log(JSON.stringify({ kind, edits, seconds, editsPerSecond: edits / seconds, latenciesMs: visible }));
} else if (kind === "fanout") {
  const [readers, edits] = nums.map(Number);
  const handles = [];
  for (let r = 0; r < readers; r++) handles.push(await reader());
  // last[i]: how many readers have seen edit i, and when the last one did.
  const count = new Array(edits).fill(0);
  const lastAt = new Array(edits);
  let complete = 0;
  let done;
  const all = new Promise((r) => (done = r));
  for (const h of handles) {
    let shown = 0;
    watch(h, (n, now) => {
      for (; shown < Math.min(n, edits); shown++) {
        if (++count[shown] === readers) {
          lastAt[shown] = now - madeAt[shown];
          if (++complete === edits) done();
        }
      }
    });
  }
  for (let i = 0; i < edits; i++) {
    edit(i);
    await sleep(50);
  }
  await all;
  console.log(JSON.stringify({ kind, readers, edits, latenciesMs: lastAt }));
} else {
  fail(`unknown scenario ${scenario}`);
}
clearTimeout(watchdog);
process.exit(0);
