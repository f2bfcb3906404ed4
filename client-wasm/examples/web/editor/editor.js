// The page editor: renders a page's `toJSON()` as editable blocks and turns what the person
// does into `PageEdit`s for `page.apply`. It needs only `{toJSON(), apply(edit), subscribe(cb)}`
// of a page, so the web demo hands it a `Page` of the package and the extension's side panel a
// stand-in that forwards edits to its service worker. It reads the page through `Optimistic`,
// which shows its own edits at once even where the page shows them only when answered.
//
// Typing is diffed against the page's text and applied as insertText/deleteText at positions,
// so two people typing in one block both keep their text. Indent and outdent are moves.

import { Optimistic } from "./optimistic.js";
import { covered, diff, plen, points, renderRich, select, selectionIn, shift } from "./text.js";

/** @type {[string, string, import("@tessera/client").BlockKind][]} */
const KINDS = [
  ["paragraph", "Text", { kind: "paragraph" }],
  ["h1", "Heading 1", { kind: "heading", level: 1 }],
  ["h2", "Heading 2", { kind: "heading", level: 2 }],
  ["h3", "Heading 3", { kind: "heading", level: 3 }],
  ["todo", "To-do", { kind: "todo", checked: false }],
  ["bulleted", "Bulleted list", { kind: "bulleted" }],
  ["quote", "Quote", { kind: "quote" }],
];

// Typed at the start of a text block, these turn it into another kind (as in Notion).
/** @type {[RegExp, import("@tessera/client").BlockKind][]} */
const SHORTCUTS = [
  [/^### /, { kind: "heading", level: 3 }], [/^## /, { kind: "heading", level: 2 }],
  [/^# /, { kind: "heading", level: 1 }], [/^[-*] /, { kind: "bulleted" }],
  [/^\[ ?\] /, { kind: "todo", checked: false }], [/^> /, { kind: "quote" }],
];

const PLACEHOLDER = {
  paragraph: "Type here. '# ' heading, '- ' list, '[] ' to-do, '> ' quote",
  heading: "Heading", todo: "To-do", bulleted: "List", numbered: "List", quote: "Quote", code: "Code",
};

const h = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
};

const kindKey = (b) => (b.kind === "heading" ? `h${b.props.level ?? 1}` : b.kind);
const mod = (e) => e.ctrlKey || e.metaKey;

export class Editor {
  /**
   * @param {HTMLElement} root where the editor goes
   * @param {{toJSON(): import("@tessera/client").PageJSON, apply(e: import("@tessera/client").PageEdit): Promise<import("@tessera/client").Applied>, subscribe(cb: (e: import("@tessera/client").PageEvent) => void): () => void}} page
   * @param {{onError?: (e: unknown) => void}} options
   */
  constructor(root, page, { onError = (e) => console.error(e) } = {}) {
    // The editor reads its own edits at once, whether or not the page shows them yet.
    this.page = new Optimistic(page);
    this.onError = onError;
    this.rows = new Map(); // block id -> {id, el, marker, text, sig}
    this.flat = [];
    this.byId = new Map();
    this.current = null; // the block the toolbar acts on
    this.composing = false;
    this.caretAfter = null; // where the caret goes after the next render, when an edit decides it
    this.scheduled = false;

    this.toolbar = this.makeToolbar();
    this.title = h("h1", { class: "title", contenteditable: "true", spellcheck: "true", "data-placeholder": "Untitled" });
    this.list = h("div", { class: "blocks" });
    const add = h("button", { class: "add", type: "button", title: "Add a text block at the end" }, "+ Add a block");
    add.addEventListener("click", () => this.addAtEnd());
    root.classList.add("tessera-editor");
    root.append(this.toolbar, this.title, this.list, add);

    this.title.addEventListener("input", () => this.edit({ type: "setTitle", title: this.title.textContent }));
    this.title.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); if (this.flat[0]) this.focus(this.flat[0].block.id, 0); else this.addAtEnd(); }
    });
    this.list.addEventListener("input", (e) => this.onInput(e));
    this.list.addEventListener("keydown", (e) => this.onKey(e));
    this.list.addEventListener("paste", (e) => this.onPaste(e));
    this.list.addEventListener("compositionstart", () => { this.composing = true; });
    this.list.addEventListener("compositionend", (e) => { this.composing = false; this.onInput(e); });
    this.list.addEventListener("focusin", (e) => {
      const row = this.rowOf(e.target);
      if (row) { this.current = row.id; this.syncToolbar(); }
    });
    this.list.addEventListener("change", (e) => {
      if (!e.target.matches("input.check")) return;
      const row = this.rowOf(e.target);
      this.edit({ type: "setKind", block: row.id, kind: { kind: "todo", checked: e.target.checked } });
    });
    this.list.addEventListener("click", (e) => {
      const del = e.target.closest("button.remove");
      if (del) this.remove(this.rowOf(del).id);
      const link = e.target.closest("a[href]");
      if (link && mod(e)) window.open(link.href, "_blank", "noopener");
    });
    this.unsubscribe = this.page.subscribe((ev) => { if (ev.type === "change") this.schedule(); });
    this.render();
  }

  /** Stops listening to the page. */
  destroy() { this.unsubscribe(); this.page.stop(); }

  // ---- edits ----------------------------------------------------------------------------

  /** @param {import("@tessera/client").PageEdit} edit */
  edit(edit) {
    const p = this.page.apply(edit);
    p.catch((e) => this.onError(e));
    return p;
  }

  block(id) { return this.byId.get(id)?.block ?? null; }

  /** The page's current text of a block (read now: the page may have changed since the last render). */
  modelBlock(id) {
    const find = (bs) => { for (const b of bs) { if (b.id === id) return b; const c = find(b.children); if (c) return c; } return null; };
    return find(this.page.toJSON().blocks);
  }

  onInput(e) {
    if (this.composing) return;
    const row = this.rowOf(e.target);
    if (!row || !e.target.classList?.contains("text")) return;
    const b = this.modelBlock(row.id);
    if (!b) return;
    const now = row.text.textContent;
    const sel = selectionIn(row.text);
    const ch = diff(b.text, now, sel ? sel.end : null);
    if (ch.del) this.edit({ type: "deleteText", block: row.id, pos: ch.pos, len: ch.del });
    if (ch.ins) this.edit({ type: "insertText", block: row.id, pos: ch.pos, text: ch.ins });
    if (b.kind === "paragraph" && ch.ins === " ") {
      for (const [re, kind] of SHORTCUTS) {
        const m = now.match(re);
        if (!m || plen(m[0]) !== ch.pos + 1) continue;
        this.edit({ type: "setKind", block: row.id, kind });
        this.edit({ type: "deleteText", block: row.id, pos: 0, len: plen(m[0]) });
        this.caretAfter = { id: row.id, start: 0, end: 0 };
        break;
      }
    }
  }

  onKey(e) {
    const row = this.rowOf(e.target);
    if (!row || !e.target.classList.contains("text")) return;
    const sel = selectionIn(row.text) ?? { start: 0, end: 0 };
    const b = this.block(row.id);
    if (!b) return;
    if (e.key === "Enter" && !e.isComposing) { e.preventDefault(); this.split(row.id, sel); }
    else if (e.key === "Backspace" && sel.start === 0 && sel.end === 0) { if (this.backspaceAtStart(row.id)) e.preventDefault(); }
    else if (e.key === "Tab") { e.preventDefault(); if (e.shiftKey) this.outdent(row.id); else this.indent(row.id); }
    else if (mod(e) && e.key.toLowerCase() === "b") { e.preventDefault(); this.format("bold"); }
    else if (mod(e) && e.key.toLowerCase() === "i") { e.preventDefault(); this.format("italic"); }
    else if (mod(e) && e.key.toLowerCase() === "k") { e.preventDefault(); this.format("link"); }
    else if (e.key === "ArrowUp" && !e.shiftKey && this.onEdgeLine(row.text, "top")) {
      const i = this.flat.findIndex((r) => r.block.id === row.id);
      if (i > 0) { e.preventDefault(); this.focus(this.flat[i - 1].block.id, Infinity); }
    } else if (e.key === "ArrowDown" && !e.shiftKey && this.onEdgeLine(row.text, "bottom")) {
      const i = this.flat.findIndex((r) => r.block.id === row.id);
      if (i >= 0 && i + 1 < this.flat.length) { e.preventDefault(); this.focus(this.flat[i + 1].block.id, 0); }
    }
  }

  onPaste(e) {
    const row = this.rowOf(e.target);
    if (!row) return;
    e.preventDefault();
    const text = (e.clipboardData?.getData("text/plain") ?? "").replace(/\r?\n/g, " ");
    const sel = selectionIn(row.text) ?? { start: 0, end: 0 };
    if (sel.end > sel.start) this.edit({ type: "deleteText", block: row.id, pos: sel.start, len: sel.end - sel.start });
    if (text) this.edit({ type: "insertText", block: row.id, pos: sel.start, text });
    const at = sel.start + plen(text);
    this.caretAfter = { id: row.id, start: at, end: at };
  }

  /** Enter: the text after the caret moves to a new block after this one. */
  async split(id, sel) {
    const b = this.modelBlock(id);
    if (sel.end > sel.start) this.edit({ type: "deleteText", block: id, pos: sel.start, len: sel.end - sel.start });
    const cps = points(b.text);
    const listy = ["todo", "bulleted", "numbered"].includes(b.kind);
    if (listy && b.text === "") return this.edit({ type: "setKind", block: id, kind: { kind: "paragraph" } });
    const rest = cps.slice(sel.end).join("");
    if (rest) this.edit({ type: "deleteText", block: id, pos: sel.start, len: cps.length - sel.end });
    /** @type {import("@tessera/client").BlockKind} */
    const kind = b.kind === "todo" ? { kind: "todo", checked: false } : b.kind === "bulleted" || b.kind === "numbered" ? { kind: b.kind } : { kind: "paragraph" };
    const known = new Set(this.byId.keys());
    await this.focusNew(this.edit({ type: "addBlock", kind, text: rest, target: { type: "after", block: id } }),
      (r) => r.prev === id && !known.has(r.block.id));
  }

  /**
   * Puts the caret in a block being added. A `Page` shows it at once (the row `isNew` finds),
   * so typing goes on without waiting for the store; a page that shows it only once the edit is
   * answered (the extension's) gets the caret then.
   */
  async focusNew(applied, isNew) {
    this.render();
    const now = this.flat.find(isNew);
    if (now) this.focus(now.block.id, 0);
    let created;
    try {
      ({ created } = await applied);
    } catch {
      return; // this.edit reported it
    }
    if (!now) { this.render(); this.focus(created, 0); }
  }

  /** Backspace at the start: a list item or heading becomes text, nested text moves out, text joins the block above. */
  backspaceAtStart(id) {
    const r = this.byId.get(id);
    const b = this.modelBlock(id);
    if (b.kind !== "paragraph") { this.edit({ type: "setKind", block: id, kind: { kind: "paragraph" } }); return true; }
    if (r.parent) { this.outdent(id); return true; }
    const i = this.flat.findIndex((x) => x.block.id === id);
    if (i <= 0 || b.children.length) return true;
    const prev = this.flat[i - 1].block;
    const at = plen(this.modelBlock(prev.id).text);
    if (b.text) this.edit({ type: "insertText", block: prev.id, pos: at, text: b.text });
    this.edit({ type: "delete", block: id });
    this.caretAfter = { id: prev.id, start: at, end: at };
    return true;
  }

  /** Tab: the block becomes the last child of the block above it at its level. */
  indent(id = this.current) {
    const r = id && this.byId.get(id);
    if (!r?.prev) return;
    this.keepCaret(id);
    this.edit({ type: "move", block: id, target: { type: "end", parent: r.prev } });
  }

  /** Shift+Tab: the block moves out of its parent, right after it. */
  outdent(id = this.current) {
    const r = id && this.byId.get(id);
    if (!r?.parent) return;
    this.keepCaret(id);
    this.edit({ type: "move", block: id, target: { type: "after", block: r.parent } });
  }

  remove(id = this.current) {
    if (!id || !this.byId.has(id)) return;
    const i = this.flat.findIndex((x) => x.block.id === id);
    const next = this.flat[i + 1] ?? this.flat[i - 1];
    this.edit({ type: "delete", block: id });
    if (this.current === id) this.current = null;
    if (next && next.block.id !== id) this.caretAfter = { id: next.block.id, start: 0, end: 0 };
  }

  setKind(key, id = this.current) {
    const k = KINDS.find(([k]) => k === key);
    if (!id || !k) return;
    this.keepCaret(id);
    this.edit({ type: "setKind", block: id, kind: k[2] });
  }

  /** Bold and italic toggle on the selection; a link asks for its address (empty removes it). */
  format(name) {
    const row = this.rows.get(this.current);
    const sel = row && selectionIn(row.text);
    if (!sel || sel.start === sel.end) { this.onError(new Error("Select some text in a block first")); return; }
    const b = this.modelBlock(row.id);
    if (name === "link") {
      const old = b.marks.find((m) => m.name === "link" && m.start <= sel.start && m.end >= sel.end)?.value;
      const href = window.prompt("Link address (leave empty to remove the link):", typeof old === "string" ? old : "https://");
      if (href === null) return;
      if (href.trim() && href.trim() !== "https://") this.edit({ type: "mark", block: row.id, start: sel.start, end: sel.end, mark: { name: "link", value: href.trim() } });
      else this.edit({ type: "unmark", block: row.id, start: sel.start, end: sel.end, name: "link" });
    } else if (covered(b.marks, name, sel.start, sel.end)) {
      this.edit({ type: "unmark", block: row.id, start: sel.start, end: sel.end, name });
    } else {
      this.edit({ type: "mark", block: row.id, start: sel.start, end: sel.end, mark: { name } });
    }
    this.caretAfter = { id: row.id, ...sel };
  }

  async addAtEnd() {
    const known = new Set(this.byId.keys());
    await this.focusNew(this.edit({ type: "addBlock", kind: { kind: "paragraph" }, text: "", target: { type: "end", parent: null } }),
      (r) => !r.parent && !known.has(r.block.id));
  }

  // ---- rendering ------------------------------------------------------------------------

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => { this.scheduled = false; this.render(); });
  }

  render() {
    const view = this.page.toJSON();
    const saved = this.caretAfter ?? this.savedCaret();
    this.caretAfter = null;

    if (document.activeElement !== this.title && this.title.textContent !== view.title) this.title.textContent = view.title;

    const flat = [];
    const walk = (blocks, depth, parent) => {
      let prev = null;
      let n = 0;
      for (const block of blocks) {
        n = block.kind === "numbered" ? n + 1 : 0;
        flat.push({ block, depth, parent, prev, number: n });
        walk(block.children, depth + 1, block.id);
        prev = block.id;
      }
    };
    walk(view.blocks, 0, null);

    const seen = new Set();
    let before = this.list.firstChild;
    for (const r of flat) {
      const id = r.block.id;
      seen.add(id);
      let row = this.rows.get(id);
      if (!row) { row = this.makeRow(id); this.rows.set(id, row); }
      const { kind, props, text, marks } = r.block;
      const sig = JSON.stringify([kind, props, text, marks, r.depth, r.number]);
      if (row.sig !== sig && !(this.composing && row.text.contains(document.activeElement))) {
        this.fill(row, r);
        row.sig = sig;
      }
      if (row.el !== before) this.list.insertBefore(row.el, before);
      before = row.el.nextSibling;
    }
    for (const [id, row] of this.rows) if (!seen.has(id)) { row.el.remove(); this.rows.delete(id); }
    this.flat = flat;
    this.byId = new Map(flat.map((r) => [r.block.id, r]));
    this.list.classList.toggle("empty", flat.length === 0);

    if (saved && this.rows.has(saved.id)) {
      const text = this.rows.get(saved.id).text;
      let { start, end } = saved;
      if (saved.dom !== undefined && saved.dom !== text.textContent) {
        // Someone else edited this block: the caret follows the text it was in.
        const ch = diff(saved.dom, text.textContent);
        start = shift(start, ch);
        end = shift(end, ch);
      }
      if (document.activeElement !== text) text.focus({ preventScroll: true });
      select(text, start, end);
    }
    this.syncToolbar();
  }

  /** The caret in the focused block, with the text it was measured in. */
  savedCaret() {
    const row = this.rowOf(document.activeElement);
    if (!row) return null;
    const sel = selectionIn(row.text);
    return sel ? { id: row.id, ...sel, dom: row.text.textContent } : null;
  }

  keepCaret(id) {
    const row = this.rows.get(id);
    const sel = row && selectionIn(row.text);
    this.caretAfter = { id, ...(sel ?? { start: 0, end: 0 }) };
  }

  focus(id, at) {
    const row = this.rows.get(id);
    if (!row) return;
    row.text.focus();
    const len = plen(row.text.textContent);
    select(row.text, Math.min(at, len));
  }

  onEdgeLine(el, edge) {
    const sel = el.ownerDocument.getSelection();
    if (!sel.rangeCount || !sel.isCollapsed) return false;
    const rect = sel.getRangeAt(0).getBoundingClientRect();
    if (rect.height === 0) return true; // an empty block, or the caret between nodes
    const box = el.getBoundingClientRect();
    return edge === "top" ? rect.top - box.top < rect.height * 0.8 : box.bottom - rect.bottom < rect.height * 0.8;
  }

  rowOf(node) {
    const el = node?.closest?.(".block");
    return el && this.list.contains(el) ? this.rows.get(el.dataset.id) : null;
  }

  makeRow(id) {
    const marker = h("span", { class: "marker", contenteditable: "false" });
    const text = h("div", { class: "text", contenteditable: "true", spellcheck: "true" });
    const remove = h("button", { class: "remove", type: "button", contenteditable: "false", title: "Delete this block", "aria-label": "Delete block" }, "×");
    const el = h("div", { class: "block", "data-id": id }, marker, text, remove);
    return { id, el, marker, text, sig: null };
  }

  fill(row, { block, depth, number }) {
    const { el, marker, text } = row;
    el.className = `block kind-${block.kind}${block.kind === "heading" ? ` level-${block.props.level ?? 1}` : ""}`;
    el.style.setProperty("--depth", String(depth));
    el.classList.toggle("checked", block.kind === "todo" && !!block.props.checked);
    if (block.kind === "todo") {
      let box = marker.querySelector("input.check");
      if (!box) { box = h("input", { type: "checkbox", class: "check", "aria-label": "Done" }); marker.replaceChildren(box); }
      box.checked = !!block.props.checked;
    } else {
      marker.replaceChildren(block.kind === "bulleted" ? "•" : block.kind === "numbered" ? `${number}.` : "");
    }
    text.dataset.placeholder = PLACEHOLDER[block.kind] ?? "";
    if (block.kind === "divider") { text.replaceChildren(); text.contentEditable = "false"; return; }
    renderRich(text, block.text, block.marks);
  }

  // ---- toolbar --------------------------------------------------------------------------

  makeToolbar() {
    const bar = h("div", { class: "toolbar", role: "toolbar" });
    const kind = h("select", { class: "kind", title: "Turn the block into…", "aria-label": "Block type" },
      ...KINDS.map(([k, label]) => h("option", { value: k }, label)));
    kind.addEventListener("change", () => this.setKind(kind.value));
    const button = (cls, label, title, act) => {
      const b = h("button", { type: "button", class: cls, title }, label);
      // Keep the text selection: the button acts on it.
      b.addEventListener("mousedown", (e) => e.preventDefault());
      b.addEventListener("click", act);
      bar.append(b);
      return b;
    };
    bar.append(kind);
    this.kindSelect = kind;
    button("bold", "B", "Bold (Ctrl+B)", () => this.format("bold"));
    button("italic", "I", "Italic (Ctrl+I)", () => this.format("italic"));
    button("link", "Link", "Link (Ctrl+K)", () => this.format("link"));
    bar.append(h("span", { class: "sep" }));
    button("outdent", "⇤ Outdent", "Outdent (Shift+Tab)", () => this.outdent());
    button("indent", "Indent ⇥", "Indent (Tab)", () => this.indent());
    button("delete", "Delete block", "Delete the block", () => this.remove());
    return bar;
  }

  syncToolbar() {
    const b = this.current && this.block(this.current);
    this.kindSelect.disabled = !b;
    if (b && KINDS.some(([k]) => k === kindKey(b))) this.kindSelect.value = kindKey(b);
  }
}
