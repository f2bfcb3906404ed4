// The side panel: the page editor of the web demo over a port to the service worker, which
// owns the client.
import { Editor } from "./vendor/editor/editor.js";
import { describe } from "./vendor/editor/status.js";
import { PortPage } from "./port_page.js";

const $ = (id) => document.getElementById(id);
const page = new PortPage("panel");
let noticeTimer;
const show = (message) => {
  $("notice").textContent = message;
  $("notice").hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { $("notice").hidden = true; }, 4000);
};

function showStatus() {
  const { kind, label } = page.problem ? { kind: "refused", label: page.problem }
    : page.local ? { kind: "offline", label: "No relay yet: see Settings" }
    : describe(page.status);
  const el = $("status");
  el.className = `status ${kind}`;
  el.querySelector(".label").textContent = label;
  el.title = page.statusText;
  el.dataset.state = page.status.sync.state;
}

page.subscribe((ev) => {
  if (ev.type !== "status") return;
  showStatus();
  $("offline").checked = page.status.sync.state === "offline";
  $("offline").disabled = page.local || !!page.problem;
});
$("offline").addEventListener("change", (e) => page.setOnline(!e.target.checked));
setInterval(showStatus, 1000);
await page.ready;
showStatus();
const editor = new Editor($("editor"), page, { onError: (e) => show(e.message ?? String(e)) });
// For the tests and the console.
Object.assign(window, { app: { page, editor } });
