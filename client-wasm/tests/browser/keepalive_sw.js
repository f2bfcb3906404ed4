// A module service worker that keeps one client across events, as an extension's background
// does, and counts what its WebSocket sends: keepalive frames and everything else. Its state
// lives only as long as the worker: after the browser stops it, `state` is undefined again.
import init, { Tessera } from "/pkg/web/tessera.js";

let state;

// The core's keepalive frame: the CBOR map {type: "keepalive"} (16 bytes).
const isKeepalive = (bytes) =>
  bytes.byteLength === 16 && new TextDecoder().decode(bytes.subarray(7)) === "keepalive";

function counting(counts) {
  return class Counting extends WebSocket {
    constructor(url) { super(url); counts.sockets++; }
    send(data) {
      const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      if (isKeepalive(bytes)) counts.keepalives++; else counts.other++;
      super.send(data);
    }
  };
}

async function open({ relay, token, name }) {
  await init();
  const counts = { sockets: 0, keepalives: 0, other: 0 };
  // No `keepalive` option: in a service worker it defaults to true.
  const tessera = await Tessera.open({ relay, token, storage: { type: "indexeddb", name }, WebSocket: counting(counts) });
  return { tessera, counts };
}

const ops = {
  async start(args) {
    state = await open(args);
    state.page = await state.tessera.create("kept alive");
    await state.page.addBlock({ kind: "paragraph" }, "synced before the worker went quiet");
    await state.page.synced();
    return { url: state.page.url };
  },
  probe() {
    return { counts: { ...state.counts }, sync: state.page.status.sync.state };
  },
  async editOffline() {
    state.page.goOffline();
    await state.page.addBlock({ kind: "paragraph" }, "stored offline, then the worker stopped");
    return { json: JSON.stringify(state.page.toJSON()) };
  },
  async resume(args) {
    const fresh = state === undefined;
    state = await open(args);
    state.page = await state.tessera.find(args.url);
    await state.page.synced();
    return { fresh, json: JSON.stringify(state.page.toJSON()) };
  },
};

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  e.waitUntil(Promise.resolve().then(() => ops[e.data.op](e.data)).then(
    (result) => e.source.postMessage(result),
    (err) => e.source.postMessage({ error: `${err.name} ${err.code ?? ""}: ${err.message}` }),
  ));
});
