// The extension's service worker owns the Tessera client: one page, stored in IndexedDB (the
// store an extension service worker can use), synced through the relay named in the options.
// The side panel and the options page talk to it through `chrome.runtime` ports:
//
//   to the service worker:   {type: "edit", seq, edit}   a PageEdit to apply
//                            {type: "online", online}    the offline switch (kept in storage)
//   from it:                 {type: "page", boot, url, json, status, statusText, relay}  after every
//                            change (`relay`: whether one is set)
//                            {type: "applied", seq, created} / {type: "failed", seq, code, message}
//                            {type: "error", message}    the client could not start
//
// Chrome stops an idle service worker after 30 s. While it syncs, the package's keepalive frame
// (every 20 s) keeps it running; a `chrome.alarms` backstop wakes it every 30 s to sync again,
// and a panel that reconnects wakes it too. Every edit is in IndexedDB before it is
// acknowledged, so a stopped worker loses nothing.
//
// No top-level await and no import(): the module is imported statically and initialised in
// the first event handler that needs it.
import init, { Tessera, isTesseraError } from "./vendor/tessera/tessera.js";

const DATABASE = "tessera-extension";
const ALARM = "tessera-sync";
// Which start of the service worker this is: the panel and the tests see restarts.
const boot = crypto.randomUUID();
const ports = new Set();
let current = null; // Promise<{client, page, settings}> of the open client
let ready = null;

const settings = async () => {
  const { relay = "", token = "", page = "", offline = false } = await chrome.storage.local.get(["relay", "token", "page", "offline"]);
  return { relay: relay.trim(), token: token.trim(), page: page.trim(), offline };
};

const describe = (e) => (isTesseraError(e) ? `${e.message} (${e.code})` : String(e?.message ?? e));

async function open() {
  ready ??= init();
  await ready;
  const s = await settings();
  const client = await Tessera.open({
    relay: s.relay || undefined,
    token: s.token || undefined,
    storage: { type: "indexeddb", name: DATABASE },
    keepalive: true,
    // The panel's offline switch outlives the worker.
    online: !s.offline,
  });
  try {
    const page = s.page ? await client.find(s.page) : await client.create("From the extension");
    if (!s.page) await chrome.storage.local.set({ page: page.url });
    page.subscribe(() => broadcast());
    return { client, page, settings: { ...s, page: page.url } };
  } catch (e) {
    await client.close();
    throw e;
  }
}

/** The open client, opened on first use (after every start of the service worker). */
function client() {
  current ??= open().catch((e) => {
    current = null;
    throw e;
  });
  return current;
}

/** Closes the client, so that the next use opens it with the current settings. */
async function reopen() {
  const old = current;
  current = null;
  if (old) await old.then(({ client }) => client.close(), () => {});
  await client().then(broadcast, report);
}

function snapshot({ page, settings }) {
  return { type: "page", boot, url: page.url, json: page.toJSON(), status: page.status, statusText: page.statusText, relay: !!settings.relay };
}

async function broadcast() {
  if (!current || ports.size === 0) return;
  const message = snapshot(await current);
  for (const port of ports) port.postMessage(message);
}

function report(e) {
  for (const port of ports) port.postMessage({ type: "error", boot, message: describe(e) });
}

chrome.runtime.onConnect.addListener((port) => {
  ports.add(port);
  port.onDisconnect.addListener(() => ports.delete(port));
  port.onMessage.addListener(async (m) => {
    let open;
    try {
      open = await client();
    } catch (e) {
      if (m.type === "edit") port.postMessage({ type: "failed", seq: m.seq, code: e.code ?? "closed", message: describe(e) });
      return report(e);
    }
    if (m.type === "edit") {
      open.page.apply(m.edit).then(
        (r) => port.postMessage({ type: "applied", seq: m.seq, created: r.created }),
        (e) => port.postMessage({ type: "failed", seq: m.seq, code: e.code ?? "bad_edit", message: describe(e) }),
      );
    } else if (m.type === "online") {
      await chrome.storage.local.set({ offline: !m.online });
      if (m.online) open.page.goOnline(); else open.page.goOffline();
    }
  });
  client().then((open) => port.postMessage(snapshot(open)), report);
});

chrome.storage.onChanged.addListener(async (changes, area) => {
  if (area !== "local") return;
  // The service worker records the page it created; only what the person changed reopens.
  const open = current && (await current.catch(() => null));
  const changed = ["relay", "token", "page"].some((k) => k in changes && (changes[k].newValue ?? "").trim() !== (open?.settings[k] ?? null));
  if (changed) await reopen();
});

chrome.alarms.onAlarm.addListener(async (alarm) => {
  if (alarm.name !== ALARM) return;
  // The backstop: after Chrome stopped the worker, this brings the client back to sync.
  try {
    const { page } = await client();
    await Promise.race([page.synced(), new Promise((r) => setTimeout(r, 25000))]);
  } catch (e) {
    report(e);
  }
});

const start = () => client().catch(() => {});
chrome.runtime.onInstalled.addListener(start);
chrome.runtime.onStartup.addListener(start);
// Every start checks the backstop is set (Chrome may drop alarms when it restarts); creating it
// again each time would push it back.
chrome.alarms.get(ALARM).then((a) => a ?? chrome.alarms.create(ALARM, { periodInMinutes: 0.5 }));
// For the console (and the tests): the client of this life of the worker.
Object.assign(globalThis, { app: { client, boot } });
// The toolbar button opens the side panel.
chrome.sidePanel?.setPanelBehavior({ openPanelOnActionClick: true }).catch(() => {});
