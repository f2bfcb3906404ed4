// Which store the node build opens: Node has no dedicated-worker OPFS and no IndexedDB, so
// the default is memory (reported by `storageType`), and asking for SQLite or IndexedDB is a
// typed `storage_unavailable`, not a crash.
// Run: node --test client-wasm/tests/node/storage.test.mjs (after `client-wasm/build-pkg.sh`).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";

import { root } from "../support/relay.mjs";

const require = createRequire(import.meta.url);
const { Tessera, isTesseraError } = require(join(root, "client-wasm/pkg/node/tessera.js"));

test("in Node the default store is memory and the browser stores are refused with a code", async () => {
  const t = await Tessera.open({});
  assert.equal(t.storageType, "memory");
  assert.match(t.storageId, /^mem-/);
  const page = await t.create("in memory");
  assert.deepEqual((await t.list()).map((s) => s.title), ["in memory"]);
  await page.close();
  await t.close();
  for (const type of ["sqlite", "indexeddb"]) {
    const err = await Tessera.open({ storage: { type } }).then(() => null, (e) => e);
    assert.ok(isTesseraError(err), `${type}: ${err}`);
    assert.equal(err.code, "storage_unavailable", type);
  }
  for (const [storage, why] of [[{ type: "opfs" }, "unknown type"], [{ type: "sqlite", name: "x".repeat(129) }, "a SQLite name over 128 bytes"], [{ name: "" }, "an empty name"], ["sqlite", "not an object"]]) {
    const err = await Tessera.open({ storage }).then(() => null, (e) => e);
    assert.equal(err?.code, "bad_options", why);
  }
});
