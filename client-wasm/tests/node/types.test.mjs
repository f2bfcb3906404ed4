// The package's .d.ts: no `any` anywhere, and an app's use of the API (tests/types/usage.ts)
// type-checks under `tsc --strict`, including the mistakes it must reject.
// Run: node --test client-wasm/tests/node/ (after `client-wasm/build-pkg.sh`).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { root } from "../support/relay.mjs";

test("the generated .d.ts files say `any` nowhere", () => {
  let files = 0;
  for (const build of ["web", "node"]) {
    const dir = join(root, "client-wasm/pkg", build);
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".d.ts"))) {
      const text = readFileSync(join(dir, f), "utf8");
      const hits = text.split("\n").filter((l) => /\bany\b/.test(l.replace(/\/\/.*|\*.*$/, "")));
      assert.deepEqual(hits, [], `${build}/${f}`);
      files++;
    }
  }
  // web: the page's glue and wasm, the SQLite worker's glue and wasm; node: glue and wasm.
  assert.equal(files, 6);
});

test("an app's use of the API type-checks, and its mistakes do not", () => {
  const dir = process.env.TYPESCRIPT_DIR;
  const tsc = dir ? join(dir, ".bin/tsc") : join(root, "node_modules/.bin/tsc");
  assert.ok(existsSync(tsc), `no ${tsc}: npm ci (typescript is a devDependency)`);
  execFileSync(tsc, ["--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
    "--lib", "es2022,dom,esnext.disposable", join(root, "client-wasm/tests/types/usage.ts")], { encoding: "utf8", stdio: "pipe" });
});
