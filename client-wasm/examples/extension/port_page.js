// A page as the editor needs it (`toJSON`, `apply`, `subscribe`), served by the service worker
// through a `chrome.runtime` port. Text edits show at once: they are applied to a local copy
// of the page's JSON, and the service worker's copy replaces it whenever no edit is waiting for
// its answer. When the service worker stops, the port closes; the page reconnects at once
// (which starts the worker again) and sends the edits made in between.

const err = (code, message) => Object.assign(new Error(message), { name: "TesseraError", code });

export class PortPage {
  constructor(name) {
    this.name = name;
    this.listeners = new Set();
    this.waiting = new Map(); // seq -> {edit, resolve, reject, sent}
    this.seq = 0;
    this.json = { url: "", title: "", heads: [], blocks: [] };
    this.latest = null;
    this.boots = [];
    this.status = { sync: { state: "connecting" }, unsaved: false, saveError: null };
    this.statusText = "starting the background client";
    this.problem = null; // why the background client could not start
    this.local = false; // no relay is set
    this.ready = new Promise((ok) => { this.resolveReady = ok; });
    this.connect();
  }

  connect() {
    const port = chrome.runtime.connect({ name: this.name });
    this.port = port;
    port.onMessage.addListener((m) => this.receive(m));
    port.onDisconnect.addListener(() => {
      if (this.port !== port) return;
      this.port = null;
      // An edit sent but not answered may or may not be stored: say so rather than send it twice.
      for (const [seq, w] of this.waiting) {
        if (!w.sent) continue;
        this.waiting.delete(seq);
        w.reject(err("stopped", "the background stopped while saving an edit; check the page"));
      }
      this.setStatus({ sync: { state: "connecting" }, unsaved: this.waiting.size > 0, saveError: null }, "the background restarts");
      setTimeout(() => this.connect(), 100);
    });
    for (const [seq, w] of this.waiting) w.sent = this.send({ type: "edit", seq, edit: w.edit });
  }

  /** Posts to the worker; false when the port is gone (its disconnect event may not have come yet). */
  send(message) {
    try {
      this.port?.postMessage(message);
      return !!this.port;
    } catch {
      return false;
    }
  }

  receive(m) {
    if (m.type === "page") {
      if (this.boots.at(-1) !== m.boot) this.boots.push(m.boot);
      this.problem = null;
      this.local = !m.relay;
      this.latest = m.json;
      if (this.waiting.size === 0) this.adopt();
      this.setStatus(m.status, m.statusText);
      this.resolveReady();
    } else if (m.type === "applied" || m.type === "failed") {
      const w = this.waiting.get(m.seq);
      if (!w) return;
      this.waiting.delete(m.seq);
      if (m.type === "applied") w.resolve({ created: m.created });
      else w.reject(err(m.code, m.message));
      if (this.waiting.size === 0) this.adopt();
    } else if (m.type === "error") {
      this.problem = m.message;
      this.setStatus({ sync: { state: "loadFailed", message: m.message }, unsaved: false, saveError: null }, m.message);
      this.resolveReady();
    }
  }

  adopt() {
    if (!this.latest) return;
    this.json = this.latest;
    this.emit({ type: "change", origin: "remote" });
  }

  setStatus(status, text) {
    this.status = status;
    this.statusText = text;
    this.emit({ type: "status", status });
  }

  emit(event) { for (const l of this.listeners) l(event); }

  toJSON() { return this.json; }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setOnline(online) { this.send({ type: "online", online }); }

  apply(edit) {
    const seq = ++this.seq;
    let w;
    const done = new Promise((resolve, reject) => { w = { edit, resolve, reject, sent: false }; });
    this.waiting.set(seq, w);
    w.sent = this.send({ type: "edit", seq, edit });
    applyLocally(this.json, edit);
    this.emit({ type: "change", origin: "local" });
    return done;
  }
}

/** Text, marks, kinds and the title change in the local copy at once; structure waits for the worker. */
function applyLocally(json, e) {
  if (e.type === "setTitle") { json.title = e.title; return; }
  const find = (bs) => { for (const b of bs) { if (b.id === e.block) return b; const c = find(b.children); if (c) return c; } return null; };
  const b = e.block && find(json.blocks);
  if (!b) return;
  const cps = Array.from(b.text);
  if (e.type === "insertText") {
    const n = Array.from(e.text).length;
    b.text = [...cps.slice(0, e.pos), e.text, ...cps.slice(e.pos)].join("");
    for (const m of b.marks) { if (m.start >= e.pos) m.start += n; if (m.end > e.pos) m.end += n; }
  } else if (e.type === "deleteText") {
    b.text = [...cps.slice(0, e.pos), ...cps.slice(e.pos + e.len)].join("");
    const cut = (x) => (x <= e.pos ? x : Math.max(e.pos, x - e.len));
    for (const m of b.marks) { m.start = cut(m.start); m.end = cut(m.end); }
    b.marks = b.marks.filter((m) => m.end > m.start);
  } else if (e.type === "mark") {
    b.marks.push({ start: e.start, end: e.end, name: e.mark.name, value: e.mark.value ?? true });
  } else if (e.type === "setKind") {
    b.kind = e.kind.kind;
    b.props = e.kind.kind === "heading" ? { level: e.kind.level } : e.kind.kind === "todo" ? { checked: !!e.kind.checked } : {};
  }
}
