// The web editor is plain JavaScript; its edits, kinds and page calls are checked by the pinned
// typescript against the package's generated .d.ts (client-wasm/examples/jsconfig.json), so an
// app that uses the API wrongly fails here rather than in a browser.
// Run: node --test client-wasm/tests/apps/ (after `client-wasm/build-pkg.sh`).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { root } from "../support/relay.mjs";

test("the web editor type-checks against the package's .d.ts", () => {
  const dir = process.env.TYPESCRIPT_DIR;
  const tsc = dir ? join(dir, ".bin/tsc") : join(root, "node_modules/.bin/tsc");
  assert.ok(existsSync(tsc), `no ${tsc}: npm ci (typescript is a devDependency)`);
  const out = (() => {
    try {
      execFileSync(tsc, ["-p", join(root, "client-wasm/examples/jsconfig.json")], { encoding: "utf8", stdio: "pipe" });
      return "";
    } catch (e) {
      return e.stdout || String(e);
    }
  })();
  assert.equal(out, "");
});
