// An unpacked extension in headless Debian Chromium (the new headless mode runs extensions),
// through playwright-core's persistent context, and a way to stop its service worker as Chrome
// does when it is idle.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { playwright } from "./browser.mjs";

/** Launches Chromium with only the extension in `dir`; resolves to `{context, id, close()}`. */
export async function launchExtension(dir) {
  const executablePath = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`no ${executablePath}: apt-get install -y chromium (make wasm-setup)`);
  const profile = mkdtempSync(join(tmpdir(), "tessera-extension-"));
  const { chromium } = playwright();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    // playwright's own headless switch would pick the old mode; extensions need the new one.
    headless: false,
    args: ["--headless=new", `--disable-extensions-except=${dir}`, `--load-extension=${dir}`, "--no-sandbox",
      "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 30000 }));
  const id = new URL(worker.url()).host;
  return {
    context,
    id,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}

/**
 * Stops the extension's service worker through the DevTools protocol (as Chrome does after 30 s
 * idle), from `page`, a page of the extension; resolves once the worker reported it stopped.
 */
export async function stopServiceWorker(context, page) {
  const cdp = await context.newCDPSession(page);
  const versions = new Map();
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions: vs }) => { for (const v of vs) versions.set(v.versionId, v); });
  await cdp.send("ServiceWorker.enable");
  const running = () => [...versions.values()].filter((v) => v.runningStatus === "running" || v.runningStatus === "starting");
  const end = Date.now() + 5000;
  while (running().length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const stopped = running().map((v) => v.versionId);
  if (stopped.length === 0) throw new Error("no running service worker to stop");
  for (const versionId of stopped) await cdp.send("ServiceWorker.stopWorker", { versionId });
  while (stopped.some((id) => versions.get(id).runningStatus !== "stopped")) {
    if (Date.now() > end + 10000) throw new Error("the service worker did not stop");
    await new Promise((r) => setTimeout(r, 50));
  }
  await cdp.detach();
  return stopped.length;
}
