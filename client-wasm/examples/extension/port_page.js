// A page as the editor needs it (`toJSON`, `apply`, `subscribe`), served by the service worker
// through a `chrome.runtime` port: `toJSON()` is the worker's latest copy, and an edit resolves
// when the worker stored it (the editor shows its own edits before that). When the service
// worker stops, the port closes; the page reconnects at once (which starts the worker again)
// and sends the edits made in between.

const err = (code, message) => Object.assign(new Error(message), { name: "TesseraError", code });

export class PortPage {
  constructor(name) {
    this.name = name;
    this.listeners = new Set();
    this.waiting = new Map(); // seq -> {edit, resolve, reject, sent}
    this.seq = 0;
    this.json = { url: "", title: "", heads: [], blocks: [] };
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
      this.json = m.json;
      this.emit({ type: "change", origin: "remote" });
      this.setStatus(m.status, m.statusText);
      this.resolveReady();
    } else if (m.type === "applied" || m.type === "failed") {
      const w = this.waiting.get(m.seq);
      if (!w) return;
      this.waiting.delete(m.seq);
      if (m.type === "applied") w.resolve({ created: m.created });
      else w.reject(err(m.code, m.message));
    } else if (m.type === "error") {
      this.problem = m.message;
      this.setStatus({ sync: { state: "loadFailed", message: m.message }, unsaved: false, saveError: null }, m.message);
      this.resolveReady();
    }
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
    return done;
  }
}
