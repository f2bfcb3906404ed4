// The package README's service-worker example as the background of a real MV3 extension in
// headless Chromium, against the relay in workerd: it keeps one client per life of the
// worker and registers the chrome.alarms backstop; after Chromium stops the worker, the next
// event reopens the client and the page, and an edit stored before the stop and one made
// after both reach the relay.
// Run: node --experimental-websocket --test client-wasm/tests/browser/extension.test.mjs
// (after `make relay-build`, `client-wasm/build-pkg.sh` and `cargo build -p tessera-cli`).
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { launchExtension, scratch } from "../support/browser.mjs";
import { example } from "../support/readme.mjs";
import { cli, root, startRelay, token, until } from "../support/relay.mjs";

let relay, tmp, context;
before(async () => {
  relay = await startRelay("wasm-extension");
  tmp = scratch();
});
after(async () => {
  await context?.close();
  relay?.stop();
  tmp?.remove();
});

/** The unpacked extension: the README's manifest keys, its background script with the
 * package's web build next to it (as an extension ships it), and an empty page to send
 * messages from. */
function extension(tok) {
  const dir = join(tmp.dir, "extension");
  mkdirSync(join(dir, "tessera"), { recursive: true });
  for (const f of ["tessera.js", "tessera_bg.wasm"]) copyFileSync(join(root, "client-wasm/pkg/web", f), join(dir, "tessera", f));
  writeFileSync(join(dir, "manifest.json"), JSON.stringify({
    manifest_version: 3, name: "tessera README example", version: "1.0",
    background: { service_worker: "background.js", type: "module" },
    permissions: ["alarms", "storage"],
    content_security_policy: { extension_pages: "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'" },
  }));
  const background = example("service-worker", { relay: relay.url, token: tok })
    .replace('from "@tessera/client"', 'from "./tessera/tessera.js"');
  writeFileSync(join(dir, "background.js"), background);
  writeFileSync(join(dir, "page.html"), "<!doctype html><title>sender</title>");
  return dir;
}

test("the README's service-worker example: a stopped worker reopens its page and nothing is lost", async () => {
  const tok = token();
  context = await launchExtension(extension(tok), join(tmp.dir, "profile"));
  const worker = context.serviceWorkers()[0] ?? await context.waitForEvent("serviceworker", { timeout: 60000 });
  const page = await context.newPage();
  await page.goto(`chrome-extension://${new URL(worker.url()).host}/page.html`);
  const send = async (message) => {
    const reply = await page.evaluate((m) => chrome.runtime.sendMessage(m), message);
    assert.equal(reply.error, undefined, reply.error);
    return reply;
  };

  const first = await send({ text: "stored before the worker stopped" });
  assert.deepEqual(first.page.blocks.map((b) => b.text), ["stored before the worker stopped"]);
  const alarm = await worker.evaluate(() => chrome.alarms.get("tessera"));
  assert.equal(alarm?.periodInMinutes, 0.5, "the backstop alarm is set");

  // Chromium stops the worker (as it does after 30 s without events): its memory is gone.
  await worker.evaluate(() => { self.lifeMarker = true; });
  const cdp = await context.browser().newBrowserCDPSession();
  const { targetInfos } = await cdp.send("Target.getTargets");
  const target = targetInfos.find((t) => t.type === "service_worker" && t.url === worker.url());
  await cdp.send("Target.closeTarget", { targetId: target.targetId });

  const second = await send({ url: first.url, text: "written after it restarted" });
  assert.deepEqual(second.page.blocks.map((b) => b.text), ["stored before the worker stopped", "written after it restarted"]);
  const restarted = context.serviceWorkers().find((w) => w.url() === worker.url());
  assert.equal(await restarted.evaluate(() => self.lifeMarker), undefined, "a new life of the worker answered");

  // Both edits reach the relay: the reopened page synced what the relay lacked.
  const tessera = cli(tmp.dir);
  const want = JSON.stringify(second.page);
  await until("the relay has both edits", () => {
    tessera("sync", first.url, "--relay", relay.url, "--token", tok, "--timeout", "30");
    return tessera("show", first.url, "--json").trim() === want;
  }, 60000);
});
