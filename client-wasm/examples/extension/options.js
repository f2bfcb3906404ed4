// The options page: the relay URL, the token and the page, kept in chrome.storage.local (the
// service worker reopens its client when they change), and the client's status, so a refused
// token shows the relay's reason here.
import { describe } from "./vendor/editor/status.js";
import { PortPage } from "./port_page.js";

const $ = (id) => document.getElementById(id);
const saved = await chrome.storage.local.get(["relay", "token", "page"]);
for (const k of ["relay", "token", "page"]) $(k).value = saved[k] ?? "";

// Every state the page went through, for the tests (a refusal must not turn into retries).
const seen = [];
const page = new PortPage("options");
const showStatus = () => {
  const { kind, label } = page.problem ? { kind: "refused", label: page.problem }
    : page.local ? { kind: "offline", label: "No relay yet: pages stay in this browser" }
    : describe(page.status);
  const el = $("status");
  el.className = `status ${kind}`;
  el.querySelector(".label").textContent = label;
  el.title = page.statusText;
  el.dataset.state = page.status.sync.state;
  if (seen.at(-1) !== page.status.sync.state) seen.push(page.status.sync.state);
};
page.subscribe((ev) => { if (ev.type === "status") showStatus(); });
setInterval(showStatus, 1000);

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  seen.length = 0;
  await chrome.storage.local.set({ relay: $("relay").value.trim(), token: $("token").value.trim(), page: $("page").value.trim() });
});
Object.assign(window, { app: { page, seen } });
