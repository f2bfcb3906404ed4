// The web demo: opens the page named in the URL's fragment (#relay=…&token=…&page=automerge:…)
// with the package's web build, mounts the editor, and shows the sync status with an offline
// switch. The fragment never reaches the server, so the token stays in the browser.
import init, { Tessera, isTesseraError } from "/pkg/web/tessera.js";

import { Editor } from "./editor/editor.js";
import { describe } from "./editor/status.js";

const $ = (id) => document.getElementById(id);
const notice = $("notice");
let noticeTimer;

/** Shows a problem; `sticky` ones stay (the page cannot work), others fade after a while. */
function show(message, sticky = false) {
  notice.textContent = message;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (!sticky) noticeTimer = setTimeout(() => { notice.hidden = true; }, 4000);
}

const explain = (e) => (isTesseraError(e) ? `${e.message} (${e.code})` : String(e?.message ?? e));

function showStatus(page) {
  const { kind, label } = describe(page.status);
  const el = $("status");
  el.className = `status ${kind}`;
  el.querySelector(".label").textContent = label;
  el.title = page.statusText;
  el.dataset.state = page.status.sync.state;
}

async function main() {
  const params = new URLSearchParams(location.hash.slice(1));
  const relay = params.get("relay") || undefined;
  const token = params.get("token") || undefined;
  await init();
  let client;
  let inMemory = false;
  try {
    // The default store (durable); edits survive a reload.
    client = await Tessera.open({ relay, token });
  } catch (e) {
    if (!(isTesseraError(e) && e.code === "store_busy" && relay)) {
      show(`Cannot open the local store: ${explain(e)}`, true);
      throw e;
    }
    // Tabs of one origin share the database through the tab that holds it; when that tab does
    // not answer (say, an older version of the app in another tab), this tab works from memory
    // and syncs through the relay.
    client = await Tessera.open({ relay, token, storage: { type: "memory" } });
    inMemory = true;
    show("Another tab holds this browser's saved copy: this tab keeps its edits in memory until they sync.");
  }
  let page;
  const wanted = params.get("page");
  try {
    page = wanted ? await client.find(wanted) : await client.create("Untitled");
  } catch (e) {
    show(`Cannot open ${wanted ?? "a new page"}: ${explain(e)}`, true);
    throw e;
  }
  if (!wanted) {
    params.set("page", page.url);
    history.replaceState(null, "", `#${params}`);
  }
  /** @type {HTMLAnchorElement} */ ($("share")).href = location.href;
  document.title = `${page.toJSON().title || "Untitled"} · Tessera`;

  const editor = new Editor($("editor"), page, { onError: (e) => show(explain(e)) });
  page.subscribe((ev) => {
    if (ev.type === "status") showStatus(page);
    else document.title = `${page.toJSON().title || "Untitled"} · Tessera`;
  });
  showStatus(page);
  // "Reconnecting in N s" counts down between status changes.
  setInterval(() => showStatus(page), 1000);

  const offline = /** @type {HTMLInputElement} */ ($("offline"));
  offline.checked = !relay;
  offline.disabled = !relay;
  offline.addEventListener("change", () => (offline.checked ? page.goOffline() : page.goOnline()));
  // The tabs of this browser share one connection: the switch follows the page's state.
  page.subscribe((ev) => { if (ev.type === "status" && relay) offline.checked = page.status.sync.state === "offline"; });
  if (!relay) show("No relay in the link: this page stays on this device.");

  // For the console and the tests: the client, the page and the editor.
  Object.assign(window, { app: { client, page, editor, inMemory } });
}

main().catch((e) => console.error(e));
