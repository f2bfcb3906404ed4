// The MV3 extension sample (client-wasm/examples/extension), loaded unpacked in headless Debian
// Chromium, against the relay in workerd: its service worker syncs a page the `tessera` CLI made
// (settings typed into the options page), an edit in the side panel (opened as a tab) reaches
// the CLI and one from the CLI reaches the panel, the service worker is stopped through the
// DevTools protocol and the next edit still reaches the CLI, the alarm backstop restarts a
// stopped worker with nothing open and it syncs what the CLI wrote meanwhile, and a bad token
// typed into the options page shows the relay's reason there and stays refused (no retry loop).
// Run: node --test client-wasm/tests/apps/ (after `make relay-build`, the package's build and
// `cargo build -p tessera-cli --bin tessera`).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { scratch } from "../support/browser.mjs";
import { stopServiceWorker, withExtension } from "../support/extension.mjs";
import { cli, root, sleep, startRelay, token, until } from "../support/relay.mjs";

let relay, ext, tmp, tessera, url, tok, first;
before(async () => {
  tmp = scratch();
  const dir = join(tmp.dir, "extension");
  execFileSync(join(root, "client-wasm/examples/extension/vendor.sh"), [dir], { stdio: "inherit" });
  [relay, ext] = await Promise.all([startRelay("extension"), withExtension(dir)]);
  tessera = cli(join(tmp.dir, "cli"));
  url = tessera("new", "--title", "Reading list").trim();
  first = tessera("add", url, "--kind", "todo", "--text", "Designing Data-Intensive Applications").trim();
  tessera("add", url, "--kind", "quote", "--text", "Local-first software");
  tok = token({ docs: [url.slice("automerge:".length)] });
  tessera("sync", url, "--relay", relay.url, "--token", tok, "--timeout", "30");
});
after(async () => {
  await ext?.close();
  relay?.stop();
  tmp?.remove();
});

async function open(path) {
  const page = await ext.context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`chrome-extension://${ext.id}/${path}`);
  await page.waitForFunction(() => window.app, null, { timeout: 30000 });
  return { page, problems };
}

async function settings({ relay, token, page }) {
  const options = await open("options.html");
  await options.page.fill("#relay", relay);
  await options.page.fill("#token", token);
  await options.page.fill("#page", page);
  await options.page.click("button[type=submit]");
  return options;
}

const state = (p) => p.getAttribute("#status", "data-state");
const show = () => tessera("show", url, "--json").trim();
const sync = () => tessera("sync", url, "--relay", relay.url, "--token", tok, "--timeout", "30");

test("the service worker syncs the CLI's page; panel edits reach the CLI, also after the worker is stopped", async () => {
  const options = await settings({ relay: relay.url, token: tok, page: url });
  await until("the options page shows the page synced", async () => (await state(options.page)) === "inSync");
  await options.page.close();

  const panel = await open("panel.html");
  const texts = () => panel.page.evaluate(() => [...document.querySelectorAll(".blocks .text")].map((e) => e.textContent));
  await until("the panel shows the CLI's page", async () => (await texts()).join("|") === "Designing Data-Intensive Applications|Local-first software");
  assert.equal(await panel.page.textContent(".title"), "Reading list");

  // An edit in the panel reaches the CLI.
  await panel.page.locator(".block", { hasText: "Designing" }).locator(".text").click();
  await panel.page.keyboard.press("End");
  await panel.page.keyboard.type(" (ch. 5)");
  await until("the panel's edit is synced", async () => (await state(panel.page)) === "inSync" && (await texts())[0].endsWith("(ch. 5)"));
  sync();
  assert.equal(JSON.parse(show()).blocks[0].text, "Designing Data-Intensive Applications (ch. 5)");

  // An edit on the CLI reaches the panel.
  tessera("edit", url, first, "--insert", "0", "Reread: ");
  sync();
  await until("the CLI's edit shows in the panel", async () => (await texts())[0] === "Reread: Designing Data-Intensive Applications (ch. 5)");

  // Chrome stops idle service workers; stop it now, then edit again.
  const boots = await panel.page.evaluate(() => app.page.boots.length);
  assert.equal(await stopServiceWorker(ext.context, panel.page), 1);
  await panel.page.locator(".block", { hasText: "Local-first" }).locator(".text").click();
  await panel.page.keyboard.press("End");
  await panel.page.keyboard.type(", Kleppmann et al.");
  await until("the worker restarted and synced the edit", async () =>
    (await panel.page.evaluate(() => app.page.boots.length)) === boots + 1 && (await state(panel.page)) === "inSync"
    && (await texts())[1] === "Local-first software, Kleppmann et al.");
  sync();
  const json = JSON.parse(show());
  assert.deepEqual(json.blocks.map((b) => b.text), ["Reread: Designing Data-Intensive Applications (ch. 5)", "Local-first software, Kleppmann et al."], "nothing lost");
  assert.equal(show(), await panel.page.evaluate(() => JSON.stringify(app.page.toJSON())), "the extension and the CLI show the same page");
  assert.deepEqual(panel.problems, []);
  // The extension README's picture (EXTENSION_SCREENSHOT=path keeps it).
  const shot = process.env.EXTENSION_SCREENSHOT || join(tmp.dir, "extension-panel.png");
  await panel.page.setViewportSize({ width: 420, height: 360 });
  await panel.page.mouse.move(0, 0);
  await panel.page.screenshot({ path: shot });
  assert.ok(statSync(shot).size > 5000, "a screenshot with something in it");
  await panel.page.close();
});

test("with nothing of the extension open, the alarm backstop restarts a stopped worker, which syncs", async () => {
  for (const p of ext.context.pages()) await p.close();
  const blank = await ext.context.newPage();
  tessera("add", url, "--kind", "paragraph", "--text", "written while the worker was stopped");
  sync();
  // The sample's alarm fires every 30 s; an unpacked extension may ask for a sooner one.
  const [worker] = ext.context.serviceWorkers();
  const boot = await worker.evaluate(() => app.boot);
  await worker.evaluate(() => chrome.alarms.create("tessera-sync", { delayInMinutes: 0.05 }));
  await stopServiceWorker(ext.context, blank);
  let again;
  await until("the alarm started the worker again", async () => {
    for (const w of ext.context.serviceWorkers()) {
      // A stopped worker's handle may never answer.
      const b = await Promise.race([w.evaluate(() => app.boot).catch(() => boot), sleep(2000).then(() => boot)]);
      if (b !== boot) { again = w; return true; }
    }
    return false;
  }, 60000);
  assert.deepEqual(ext.context.pages().map((p) => p.url()), ["about:blank"], "no page of the extension woke it");
  const json = await again.evaluate(async () => {
    const { page } = await app.client();
    await page.synced();
    return JSON.stringify(page.toJSON());
  });
  assert.equal(json, show(), "the worker has what the CLI wrote while it was stopped");
  await blank.close();
});

test("a bad token in the options page shows the refusal's reason, not endless retries", async () => {
  const options = await settings({ relay: relay.url, token: token({}, "not the relay's secret"), page: url });
  await until("the refusal shows", async () => (await state(options.page)) === "tokenNeeded", 30000);
  assert.match(await options.page.textContent("#status"), /Refused \(auth_failed\)/);
  await options.page.waitForTimeout(3000);
  const seen = await options.page.evaluate(() => app.seen);
  assert.equal(seen.at(-1), "tokenNeeded", `still refused 3 s later (states: ${seen.join(", ")})`);
  assert.ok(!seen.includes("retrying"), `never retried (states: ${seen.join(", ")})`);
  assert.deepEqual(options.problems, []);
});
