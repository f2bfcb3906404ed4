// A module service worker that reports which store `Tessera.open` picks here, for the
// SQLite suite: service workers cannot start a Worker, so the default is IndexedDB and an
// explicit SQLite store is refused with `storage_unavailable`.
import init, { Tessera } from "/pkg/web/tessera.js";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  const open = async (storage) => {
    try {
      const t = await Tessera.open({ storage });
      const type = t.storageType;
      await t.close();
      return { type };
    } catch (err) {
      return { code: err.code ?? String(err) };
    }
  };
  e.waitUntil((async () => {
    await init();
    e.source.postMessage({ byDefault: await open(undefined), sqlite: await open({ type: "sqlite" }) });
  })());
});
