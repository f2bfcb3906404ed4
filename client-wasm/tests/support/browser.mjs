// Headless Debian Chromium through playwright-core (never a downloaded browser), and a static
// server on 127.0.0.1 for the package's `web` build and the test pages.
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";

import { after, before } from "node:test";

import { root, startRelay } from "./relay.mjs";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".md": "text/plain" };

/** Serves client-wasm/pkg at /pkg/ and client-wasm/tests/browser at /. */
export function serve() {
  const dirs = [["/pkg/", join(root, "client-wasm/pkg")], ["/", join(root, "client-wasm/tests/browser")]];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    for (const [prefix, dir] of dirs) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length) || "index.html"));
      if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) break;
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404).end("not found");
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }),
  })));
}

/** playwright-core from the project's node_modules, or from $PLAYWRIGHT_CORE_DIR. */
function playwright() {
  const require = createRequire(join(root, "package.json"));
  const dir = process.env.PLAYWRIGHT_CORE_DIR;
  return dir ? require(join(dir, "playwright-core")) : require("playwright-core");
}

/** Launches Debian's Chromium headless with a fresh profile. */
export async function launch() {
  const executablePath = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`no ${executablePath}: apt-get install -y chromium (make wasm-setup)`);
  const { chromium } = playwright();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"],
  });
  return browser;
}

/** Debian's Chromium in the new headless mode (which runs extensions) with the unpacked
 * extension in `dir` loaded, on a fresh profile in `profile`. */
export async function launchExtension(dir, profile) {
  const executablePath = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`no ${executablePath}: apt-get install -y chromium (make wasm-setup)`);
  const { chromium } = playwright();
  return chromium.launchPersistentContext(profile, {
    executablePath,
    headless: false, // the flag below asks for the new headless mode, which the option cannot
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
      `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
  });
}

/** A page of a fresh browser context (its own storage: one "device"), with the package loaded. */
export async function device(browser, site) {
  const context = await browser.newContext();
  const page = await open(context, site);
  return { context, page };
}

/** Opens the test page in `context` and waits for the package to be initialised. */
export async function open(context, site) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") console.error(`[page ${m.type()}] ${m.text()}`); });
  await page.goto(`${site.url}/index.html`);
  await page.waitForFunction(() => window.tesseraReady === true, null, { timeout: 30000 });
  return page;
}

export const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-wasm-browser-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

/** A suite file's relay (in workerd, named `name`), static site, browser and scratch directory:
 *  started before its tests, stopped after them; `got` receives them once they run. */
export function suiteWithBrowser(name, got) {
  let s = {};
  before(async () => {
    const [relay, site, browser] = await Promise.all([startRelay(name), serve(), launch()]);
    s = { relay, site, browser, tmp: scratch() };
    got(s);
  });
  after(async () => {
    await s.browser?.close();
    await s.site?.close();
    s.relay?.stop();
    s.tmp?.remove();
  });
}
