// A module service worker running the package, as an extension's background does: the module
// is imported statically and initialised inside the event handler (no top-level await).
import { run } from "./worker_common.js";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  e.waitUntil(run({ ...e.data, kind: "service worker" }).then(
    (result) => e.source.postMessage(result),
    (err) => e.source.postMessage({ error: `${err.name} ${err.code ?? ""}: ${err.message}` }),
  ));
});
