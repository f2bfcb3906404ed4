// The apps' extension suite on top of browser.mjs's `launchExtension`: the extension's id, a
// throwaway profile, and a way to stop its service worker as Chrome does when it is idle.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { launchExtension } from "./browser.mjs";

/** Chromium with only the extension in `dir`, on a fresh profile; resolves to `{context, id, close()}`. */
export async function withExtension(dir) {
  const profile = mkdtempSync(join(tmpdir(), "tessera-extension-"));
  const context = await launchExtension(dir, profile);
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 30000 }));
  return {
    context,
    id: new URL(worker.url()).host,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}

/**
 * Stops the extension's service worker through the DevTools protocol (as Chrome does after 30 s
 * idle), from `page`, a page of the browser; resolves once the worker reported it stopped.
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
