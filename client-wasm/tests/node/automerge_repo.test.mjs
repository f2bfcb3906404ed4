// The `node` build of the package and two unmodified automerge-repo JS repos sync one page
// through the relay in workerd: the JS repos see what the package wrote, the package sees what
// they change, and all three end on the same heads.
// Run: node --experimental-websocket --test client-wasm/tests/node/ (after `make relay-build`
// and `client-wasm/build-pkg.sh`).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";

import * as Automerge from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

import { root, startRelay, token, until } from "../support/relay.mjs";

const require = createRequire(import.meta.url);
const { Tessera } = require(join(root, "client-wasm/pkg/node/tessera.js"));

let relay;
const repos = [];
before(async () => { relay = await startRelay("wasm-amrepo"); });
after(() => {
  for (const r of repos) r.networkSubsystem.adapters.forEach((a) => a.disconnect());
  relay?.stop();
});

test("the package and two automerge-repo JS repos sync one page through the relay", async () => {
  const tok = token();
  const tessera = await Tessera.open({ relay: relay.url, token: tok, storage: { type: "memory" } });
  const page = await tessera.create("from the package");
  const { created } = await page.addBlock({ kind: "paragraph" }, "a block from wasm");
  await page.synced();

  const id = page.url.slice("automerge:".length);
  const ws = () => new WebSocketClientAdapter(`${relay.url.replace("http", "ws")}/v1/docs/${id}?token=${tok}`);
  const [b, c] = [new Repo({ network: [ws()] }), new Repo({ network: [ws()] })];
  repos.push(b, c);
  const [hb, hc] = await Promise.all([b.find(page.url), c.find(page.url)]);
  for (const [name, h] of [["B", hb], ["C", hc]]) {
    await until(`${name} sees the page`, () => h.doc()?.title === "from the package" && h.doc().blocks?.[created]?.text === "a block from wasm");
  }

  // A JS repo edits the title and the block; the other repo and the package see both.
  hb.change((d) => {
    Automerge.updateText(d, ["title"], "from the package, renamed in JS");
    Automerge.updateText(d, ["blocks", created, "text"], "a block from wasm, edited in JS");
  });
  await until("C sees B's edit", () => hc.doc().title === "from the package, renamed in JS");
  await until("the package sees B's edit", () => page.toJSON().title === "from the package, renamed in JS");
  assert.equal(page.toJSON().blocks[0].text, "a block from wasm, edited in JS");

  // And the package's next edit reaches both repos.
  await page.setText(created, "edited in wasm again");
  for (const [name, h] of [["B", hb], ["C", hc]]) {
    await until(`${name} sees the package's edit`, () => h.doc().blocks[created].text === "edited in wasm again");
  }
  const heads = (h) => [...Automerge.getHeads(h.doc())].sort();
  await until("the three agree on heads", () => {
    const want = JSON.stringify(page.toJSON().heads);
    return JSON.stringify(heads(hb)) === want && JSON.stringify(heads(hc)) === want;
  });
  await tessera.close();
});
