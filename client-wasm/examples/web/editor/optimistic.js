// The page as the editor reads it: the page's JSON, with the editor's own text edits shown at
// once. A page of the package that holds its document shows an edit the moment it is made, and
// is read directly. One that does not (a tab another tab serves, the package's followers; an
// extension page served by its service worker) changes its JSON only when the edit comes back;
// diffing the next keystroke against that older text would apply it twice. So until every
// edit sent is answered the editor reads this copy, with text, marks, kinds and the title
// applied here; then it takes the page's JSON again.

/** @typedef {import("@tessera/client").PageJSON} PageJSON */
/** @typedef {import("@tessera/client").PageEdit} PageEdit */
/** @typedef {import("@tessera/client").PageEvent} PageEvent */

export class Optimistic {
  /** @param {{toJSON(): PageJSON, apply(e: PageEdit): Promise<import("@tessera/client").Applied>, subscribe(cb: (e: PageEvent) => void): () => void}} page */
  constructor(page) {
    this.page = page;
    this.json = structuredClone(page.toJSON());
    this.waiting = 0;
    /** @type {Set<(e: PageEvent) => void>} */
    this.listeners = new Set();
    this.stop = page.subscribe((ev) => {
      if (ev.type === "change" && this.waiting === 0) this.adopt(ev);
      else if (ev.type === "status") this.emit(ev);
    });
  }

  toJSON() { return this.json; }

  /** @param {(e: PageEvent) => void} listener */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** @param {PageEdit} edit */
  apply(edit) {
    const before = this.page.toJSON().heads.join();
    let answered;
    try {
      answered = this.page.apply(edit);
    } catch (e) {
      return Promise.reject(e);
    }
    const now = this.page.toJSON();
    if (this.waiting === 0 && now.heads.join() !== before) {
      // The page shows the edit already, with everything else it has (the package's own
      // pages): read it. Positions of the next edit must be the page's, remote edits included.
      this.adopt({ type: "change", origin: "local" });
      return answered;
    }
    this.waiting++;
    applyLocally(this.json, edit);
    const settle = () => {
      this.waiting--;
      if (this.waiting === 0) this.adopt({ type: "change", origin: "local" });
    };
    answered.then(settle, settle);
    this.emit({ type: "change", origin: "local" });
    return answered;
  }

  /** @param {PageEvent} ev */
  adopt(ev) {
    this.json = structuredClone(this.page.toJSON());
    this.emit(ev);
  }

  /** @param {PageEvent} ev */
  emit(ev) { for (const l of this.listeners) l(ev); }
}

/**
 * Text, marks, kinds and the title change in the copy at once; blocks added, moved or deleted
 * show when the page has them.
 * @param {PageJSON} json
 * @param {PageEdit} e
 */
function applyLocally(json, e) {
  if (e.type === "setTitle") { json.title = e.title; return; }
  if (!("block" in e)) return;
  /** @param {import("@tessera/client").BlockJSON[]} bs @returns {import("@tessera/client").BlockJSON | null} */
  const find = (bs) => { for (const b of bs) { if (b.id === e.block) return b; const c = find(b.children); if (c) return c; } return null; };
  const b = find(json.blocks);
  if (!b) return;
  const cps = Array.from(b.text);
  if (e.type === "insertText") {
    const n = Array.from(e.text).length;
    b.text = [...cps.slice(0, e.pos), e.text, ...cps.slice(e.pos)].join("");
    for (const m of b.marks) { if (m.start >= e.pos) m.start += n; if (m.end > e.pos) m.end += n; }
  } else if (e.type === "deleteText") {
    b.text = [...cps.slice(0, e.pos), ...cps.slice(e.pos + e.len)].join("");
    const cut = (/** @type {number} */ x) => (x <= e.pos ? x : Math.max(e.pos, x - e.len));
    for (const m of b.marks) { m.start = cut(m.start); m.end = cut(m.end); }
    b.marks = b.marks.filter((m) => m.end > m.start);
  } else if (e.type === "mark") {
    b.marks.push({ start: e.start, end: e.end, name: e.mark.name, value: "value" in e.mark ? e.mark.value : true });
  } else if (e.type === "unmark") {
    b.marks = b.marks.flatMap((m) => (m.name !== e.name || m.end <= e.start || m.start >= e.end ? [m]
      : [{ ...m, end: e.start }, { ...m, start: e.end }].filter((x) => x.end > x.start)));
  } else if (e.type === "setKind") {
    b.kind = e.kind.kind;
    b.props = e.kind.kind === "heading" ? { level: e.kind.level } : e.kind.kind === "todo" ? { checked: !!e.kind.checked } : {};
  }
}
