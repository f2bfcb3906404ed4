// The web demo's editor (client-wasm/examples/web) in headless Debian Chromium, against the
// relay in workerd, driven as a person drives it (clicks and keys): two tabs with their own
// storage edit one page the CLI made while one of them is offline (typing in the same block,
// bold, indent, delete), reconnect, type into one block at once key by key, and show the same
// page; the `tessera` CLI syncs it and prints the same `show --json` as the page's `toJSON()`.
// Takes the README's screenshot
// (WEB_SCREENSHOT=path keeps it; `make web-screenshot` writes docs/web-editor.png). A second
// test covers the keys (shortcuts, Enter, Tab, Backspace), italics, links, to-dos and a token
// the relay refuses, shown with its reason and not retried; a third, two tabs of one browser.
// Run: node --test client-wasm/tests/apps/ (after `make relay-build`, the package's build and
// `cargo build -p tessera-cli --bin tessera`).
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { serveDemo } from "../../examples/web/server.mjs";
import { launch, scratch } from "../support/browser.mjs";
import { cli, startRelay, token, until } from "../support/relay.mjs";

let relay, site, browser, tmp;
before(async () => {
  [relay, site, browser] = await Promise.all([startRelay("web-editor"), serveDemo({ port: 0 }), launch()]);
  tmp = scratch();
});
after(async () => {
  await browser?.close();
  await site?.close();
  relay?.stop();
  tmp?.remove();
});

// What the tabs answer when the editor asks for a link's address.
let linkAddress = "";
const link = (tok, page) => `${site.url}/#${new URLSearchParams({ relay: relay.url, token: tok, page })}`;

/** A tab of its own browser context (its own IndexedDB: one device) with the editor loaded. */
async function tab(url) {
  const context = await browser.newContext({ viewport: { width: 960, height: 640 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("dialog", (d) => d.accept(linkAddress));
  await page.goto(url);
  await page.waitForFunction(() => window.app?.editor, null, { timeout: 30000 });
  return { context, page, problems };
}

const state = (p) => p.getAttribute("#status", "data-state");
const row = (p, text) => p.locator(".block", { hasText: text }).locator(".text");
/** What a person sees: each row's depth, kind and formatted text, and the title. */
const shown = (p) => p.evaluate(() => ({
  title: document.querySelector(".title").textContent,
  rows: [...document.querySelectorAll(".blocks .block")].map((b) => [b.style.getPropertyValue("--depth"), b.className, b.querySelector(".text").innerHTML]),
}));

test("two tabs edit one page, one offline, converge, and match the CLI's show --json", async () => {
  const tessera = cli(tmp.dir);
  const url = tessera("new", "--title", "Trip").trim();
  const add = (...args) => tessera("add", url, ...args).trim();
  const shared = add("--kind", "paragraph", "--text", "pack the bags");
  const times = add("--kind", "paragraph", "--text", "Train times: see the timetable");
  tessera("mark", url, times, "21", "30", "link=https://example.com/timetable");
  const day = add("--kind", "heading", "--level", "2", "--text", "Day one");
  add("--kind", "todo", "--checked", "--text", "buy tickets", "--parent", day);
  add("--kind", "todo", "--text", "book a hotel");
  add("--kind", "bulleted", "--text", "passport");
  add("--kind", "bulleted", "--text", "charger");
  add("--kind", "bulleted", "--text", "drop this line");
  const quote = add("--kind", "quote", "--text", "The journey is the reward.");
  tessera("mark", url, quote, "0", "26", "italic");
  const tok = token({ docs: [url.slice("automerge:".length)] });
  tessera("sync", url, "--relay", relay.url, "--token", tok, "--timeout", "30");

  const a = await tab(link(tok, url));
  const b = await tab(link(tok, url));
  for (const t of [a, b]) await until("the tab synced the page", async () => (await state(t.page)) === "inSync");
  assert.equal(await a.page.locator(".block").count(), 9);

  // B goes offline with the switch; the status says so.
  await b.page.click("#offline");
  await until("B is offline", async () => (await state(b.page)) === "offline");
  assert.match(await b.page.textContent("#status"), /Offline/);

  // Both type into the same block: A at its end, B at its start.
  await row(a.page, "pack the bags").click();
  await a.page.keyboard.press("End");
  await a.page.keyboard.type(" tonight");
  await row(b.page, "pack the bags").click();
  await b.page.keyboard.press("Home");
  await b.page.keyboard.type("Please ");
  // B bolds "Please" (selected with the keyboard, then Ctrl+B).
  await b.page.keyboard.press("Home");
  for (let i = 0; i < 6; i++) await b.page.keyboard.press("Shift+ArrowRight");
  await b.page.keyboard.press("Control+b");
  // A indents the to-do under the heading (Tab is a move).
  await row(a.page, "book a hotel").click();
  await a.page.keyboard.press("Tab");
  // B deletes the bullet with its row's delete button.
  await b.page.locator(".block", { hasText: "drop this line" }).hover();
  await b.page.locator(".block", { hasText: "drop this line" }).locator("button.remove").click();
  await until("A's edits reached the relay", async () => (await state(a.page)) === "inSync");
  assert.equal(await state(b.page), "offline", "B stayed offline while editing");

  // B reconnects; both converge.
  await b.page.click("#offline");
  const json = (t) => t.page.evaluate(() => JSON.stringify(app.page.toJSON()));
  await until("the tabs converge", async () => (await json(a)) === (await json(b)) && (await state(a.page)) === "inSync" && (await state(b.page)) === "inSync");
  const view = JSON.parse(await json(a));
  const block = view.blocks.find((x) => x.id === shared);
  assert.equal(block.text, "Please pack the bags tonight", "both sides' text is kept");
  assert.deepEqual(block.marks, [{ start: 0, end: 6, name: "bold", value: true }]);
  const heading = view.blocks.find((x) => x.id === day);
  assert.deepEqual(heading.children.map((x) => x.text), ["buy tickets", "book a hotel"], "the to-do is indented under the heading");
  assert.deepEqual(view.blocks.map((x) => x.text), ["Please pack the bags tonight", "Train times: see the timetable", "Day one", "passport", "charger", "The journey is the reward."], "the bullet is gone");

  // Online now, both type into one block at once, key by key: B at its start, A at its end.
  await row(b.page, "charger").click();
  await b.page.keyboard.press("Home");
  await row(a.page, "charger").click();
  await a.page.keyboard.press("End");
  const [atEnd, atStart] = [" and cable", "phone "];
  for (let i = 0; i < Math.max(atEnd.length, atStart.length); i++) {
    if (atEnd[i]) await a.page.keyboard.type(atEnd[i]);
    if (atStart[i]) await b.page.keyboard.type(atStart[i]);
  }
  await until("the live edits converge", async () => (await json(a)) === (await json(b)) && (await state(a.page)) === "inSync" && (await state(b.page)) === "inSync");
  const live = JSON.parse(await json(a));
  assert.equal(live.blocks.find((x) => x.text.includes("charger")).text, "phone charger and cable", "both sides' keys, each where its caret was");
  const merged = await json(a);

  // Both show the same page, and what they show is the page.
  await until("both render the merged page", async () => JSON.stringify(await shown(a.page)) === JSON.stringify(await shown(b.page)));
  const seen = await shown(a.page);
  assert.deepEqual(seen.rows.map((r) => r[0]), ["0", "0", "0", "1", "1", "0", "0", "0"]);
  assert.equal(seen.rows[0][2], "<strong>Please</strong> pack the bags tonight");
  assert.match(await a.page.textContent("#status"), /Synced/);

  // A CLI device syncs the page and prints the same JSON.
  tessera("sync", url, "--relay", relay.url, "--token", tok, "--timeout", "30");
  assert.equal(tessera("show", url, "--json").trim(), merged);

  const shot = process.env.WEB_SCREENSHOT || join(tmp.dir, "web-editor.png");
  await a.page.mouse.move(0, 0);
  await a.page.screenshot({ path: shot, clip: { x: 0, y: 0, width: 960, height: 560 } });
  assert.ok(statSync(shot).size > 10000, "a screenshot with something in it");
  assert.deepEqual([...a.problems, ...b.problems], [], "no errors in the pages");
  await a.context.close();
  await b.context.close();
});

test("links and italics on a selection, to-dos checked, and a refused token shown with its reason", async () => {
  const tok = token();
  const a = await tab(`${site.url}/#${new URLSearchParams({ relay: relay.url, token: tok })}`);
  await until("a new page synced", async () => (await state(a.page)) === "inSync");
  await a.page.click("button.add");
  await a.page.keyboard.type("[] call the hotel");
  await a.page.keyboard.press("Home");
  for (let i = 0; i < 4; i++) await a.page.keyboard.press("Shift+ArrowRight");
  await a.page.keyboard.press("Control+i");
  await a.page.keyboard.press("End");
  for (let i = 0; i < 5; i++) await a.page.keyboard.press("Shift+ArrowLeft");
  linkAddress = "https://example.com/hotel";
  await a.page.click(".toolbar button.link");
  await a.page.click(".block input.check");
  await until("the edits synced", async () => (await state(a.page)) === "inSync");
  // Enter continues the list, Tab nests, Shift+Tab un-nests, Backspace at the start makes a
  // to-do text and then joins it to the block above; Enter in the middle splits a block.
  await a.page.keyboard.press("End");
  await a.page.keyboard.press("Enter");
  await a.page.keyboard.type("pack");
  await a.page.keyboard.press("Tab");
  await until("the to-do is nested", async () => (await a.page.evaluate(() => app.page.toJSON().blocks[0].children.length)) === 1);
  await a.page.keyboard.press("Shift+Tab");
  await a.page.keyboard.press("Home");
  await a.page.keyboard.press("Backspace");
  await a.page.keyboard.press("Backspace");
  await a.page.keyboard.type(" and ");
  await a.page.keyboard.press("Enter");
  await until("the edits synced", async () => (await state(a.page)) === "inSync");
  const view = await a.page.evaluate(() => app.page.toJSON());
  assert.deepEqual(view.blocks.map(({ kind, props, text, marks, children }) => ({ kind, props, text, marks, children })), [{
    kind: "todo", props: { checked: true }, text: "call the hotel and ",
    marks: [{ start: 0, end: 4, name: "italic", value: true }, { start: 9, end: 14, name: "link", value: "https://example.com/hotel" }],
    children: [],
  }, { kind: "todo", props: { checked: false }, text: "pack", marks: [], children: [] }]);
  assert.equal(await a.page.locator(".block .text a").getAttribute("href"), "https://example.com/hotel");
  // A page URL from the first tab opened with a token the relay refuses: the reason shows, once.
  const bad = await tab(link(token({}, "not the relay's secret"), view.url));
  await until("the refusal shows", async () => (await state(bad.page)) === "tokenNeeded");
  assert.match(await bad.page.textContent("#status"), /Refused \(auth_failed\)/);
  await bad.page.waitForTimeout(2000);
  assert.equal(await state(bad.page), "tokenNeeded", "no retry loop");
  await a.context.close();
  await bad.context.close();
});

test("two tabs of one browser edit one page", async () => {
  const tok = token();
  const first = await tab(`${site.url}/#${new URLSearchParams({ relay: relay.url, token: tok })}`);
  await until("a new page synced", async () => (await state(first.page)) === "inSync");
  await first.page.click("button.add");
  await first.page.keyboard.type("from the first tab");
  const url = await first.page.evaluate(() => app.page.url);
  const second = await first.context.newPage();
  await second.goto(link(tok, url));
  await second.waitForFunction(() => window.app?.editor, null, { timeout: 30000 });
  assert.equal(await second.evaluate(() => app.inMemory), false, "the second tab uses the database the first one holds");
  await until("the second tab shows the first tab's text", async () => (await second.locator(".blocks .text").allTextContents()).join() === "from the first tab");
  await second.locator(".blocks .text").click();
  await second.keyboard.press("End");
  await second.keyboard.type(", and the second");
  await until("the first tab shows the second tab's text", async () => (await first.page.locator(".blocks .text").allTextContents()).join() === "from the first tab, and the second")
    .catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify([await first.page.locator(".blocks .text").allTextContents(), await second.locator(".blocks .text").allTextContents()])}`); });
  // They share one connection: the offline switch of one is the other's.
  await first.page.click("#offline");
  await until("the second tab is offline too", async () => (await state(second)) === "offline" && (await second.isChecked("#offline")));
  assert.deepEqual(first.problems, []);
  await first.context.close();
});
