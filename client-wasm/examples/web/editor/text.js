// Text helpers of the editor. The package counts positions in Unicode scalar values (code
// points); the DOM counts UTF-16 units. Everything the editor hands to the page is converted
// here, once, and text edits are computed as diffs (insertText/deleteText at positions), never
// as whole-text replacements, so concurrent typing in one block keeps both sides' text.

/** The code points of `s`. */
export const points = (s) => Array.from(s);

/** Length of `s` in code points. */
export const plen = (s) => points(s).length;

const same = (a, ai, b, bi, n) => {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
};

/**
 * The edits that turn `before` into `after`, as `{pos, del, ins}` in code points. `caret` (the
 * caret in `after`, in code points) picks the right place when a diff is ambiguous: typing "a"
 * in "aa" at the end is an insertion at 2, not at 0.
 */
export function diff(before, after, caret = null) {
  const o = points(before);
  const n = points(after);
  const d = n.length - o.length;
  if (caret !== null && d > 0 && caret - d >= 0 && caret <= n.length) {
    const at = caret - d;
    if (same(n, 0, o, 0, at) && same(n, caret, o, at, n.length - caret)) {
      return { pos: at, del: 0, ins: n.slice(at, caret).join("") };
    }
  }
  if (caret !== null && d < 0 && caret <= n.length) {
    if (same(n, 0, o, 0, caret) && same(n, caret, o, caret - d, n.length - caret)) {
      return { pos: caret, del: -d, ins: "" };
    }
  }
  let p = 0;
  while (p < o.length && p < n.length && o[p] === n[p]) p++;
  let s = 0;
  while (s < o.length - p && s < n.length - p && o[o.length - 1 - s] === n[n.length - 1 - s]) s++;
  return { pos: p, del: o.length - p - s, ins: n.slice(p, n.length - s).join("") };
}

/** Where offset `x` (code points) of the old text lands after `change` (from `diff`). */
export function shift(x, { pos, del, ins }) {
  if (x <= pos) return x;
  if (x >= pos + del) return x - del + plen(ins);
  return pos + plen(ins);
}

/** The selection inside `el` as code-point offsets `{start, end}`, or null when it is elsewhere. */
export function selectionIn(el) {
  const sel = el.ownerDocument.getSelection();
  if (!sel || sel.rangeCount === 0) return null;
  const r = sel.getRangeAt(0);
  if (!el.contains(r.startContainer) || !el.contains(r.endContainer)) return null;
  const start = offsetOf(el, r.startContainer, r.startOffset);
  const end = offsetOf(el, r.endContainer, r.endOffset);
  return { start: Math.min(start, end), end: Math.max(start, end) };
}

/** The code-point offset in `el`'s text of the DOM point (node, offset). */
function offsetOf(el, node, offset) {
  const range = el.ownerDocument.createRange();
  range.selectNodeContents(el);
  range.setEnd(node, offset);
  return plen(range.toString());
}

/** Puts the selection at code-point offsets `start`..`end` of `el`'s text. */
export function select(el, start, end = start) {
  const doc = el.ownerDocument;
  const a = pointAt(el, start);
  const b = end === start ? a : pointAt(el, end);
  const range = doc.createRange();
  range.setStart(a.node, a.offset);
  range.setEnd(b.node, b.offset);
  const sel = doc.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

function pointAt(el, target) {
  const walker = el.ownerDocument.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let left = target;
  let last = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const cps = points(node.data);
    if (left <= cps.length) return { node, offset: cps.slice(0, left).join("").length };
    left -= cps.length;
    last = node;
  }
  return last ? { node: last, offset: last.data.length } : { node: el, offset: el.childNodes.length };
}

// Links from other devices are data from the network: only these schemes become clickable.
const SAFE_HREF = /^(https?:|mailto:)/i;

/** Renders `text` with its marks (from `toJSON()`) into `el`'s children. */
export function renderRich(el, text, marks) {
  const cps = points(text);
  const cuts = new Set([0, cps.length]);
  for (const m of marks) { cuts.add(Math.min(m.start, cps.length)); cuts.add(Math.min(m.end, cps.length)); }
  const edges = [...cuts].sort((a, b) => a - b);
  const frag = el.ownerDocument.createDocumentFragment();
  for (let i = 0; i + 1 < edges.length; i++) {
    const [a, b] = [edges[i], edges[i + 1]];
    if (a === b) continue;
    let node = el.ownerDocument.createTextNode(cps.slice(a, b).join(""));
    for (const m of marks) {
      if (m.start > a || m.end < b) continue;
      node = wrap(el.ownerDocument, node, m);
    }
    frag.append(node);
  }
  el.replaceChildren(frag);
}

const TAGS = { bold: "strong", italic: "em", underline: "u", strike: "s", code: "code" };

function wrap(doc, inner, mark) {
  let outer;
  if (mark.name === "link") {
    outer = doc.createElement("a");
    if (typeof mark.value === "string" && SAFE_HREF.test(mark.value)) outer.href = mark.value;
    outer.title = `${mark.value} (Ctrl+click to open)`;
  } else if (mark.name === "color") {
    outer = doc.createElement("span");
    if (typeof mark.value === "string" && /^[#a-z0-9(),.\s%-]{1,40}$/i.test(mark.value)) outer.style.color = mark.value;
  } else {
    outer = doc.createElement(TAGS[mark.name] ?? "span");
  }
  outer.append(inner);
  return outer;
}

/** Whether every character of `start..end` carries the mark `name`. */
export function covered(marks, name, start, end) {
  const spans = marks.filter((m) => m.name === name).sort((a, b) => a.start - b.start);
  let at = start;
  for (const m of spans) {
    if (m.start > at) break;
    at = Math.max(at, m.end);
    if (at >= end) return true;
  }
  return at >= end;
}
