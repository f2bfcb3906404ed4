// The editor's text arithmetic (client-wasm/examples/web/editor/text.js), in Node: diffs in code
// points with the caret deciding ambiguous ones, carets following other people's edits, and
// whether a mark covers a selection.
import assert from "node:assert/strict";
import { test } from "node:test";

import { covered, diff, shift } from "../../examples/web/editor/text.js";

test("a diff is an insertion or a deletion at the caret, in code points", () => {
  // Typing "a" at the end of "aa": the caret says where, which a plain prefix/suffix diff cannot.
  assert.deepEqual(diff("aa", "aaa", 3), { pos: 2, del: 0, ins: "a" });
  assert.deepEqual(diff("aa", "aaa", 1), { pos: 0, del: 0, ins: "a" });
  // Backspace in a run of equal letters deletes at the caret.
  assert.deepEqual(diff("aaa", "aa", 1), { pos: 1, del: 1, ins: "" });
  // Positions count code points: an emoji is one.
  assert.deepEqual(diff("a😀b", "a😀xb", 3), { pos: 2, del: 0, ins: "x" });
  // A replaced selection is a deletion and an insertion at one place.
  assert.deepEqual(diff("hello world", "hello there", 11), { pos: 6, del: 5, ins: "there" });
  // Without a caret, the shortest change.
  assert.deepEqual(diff("same", "same"), { pos: 4, del: 0, ins: "" });
});

test("a caret follows edits made elsewhere in its block", () => {
  const remote = diff("charger", "phone charger");
  assert.equal(shift(7, remote), 13, "an insertion before the caret moves it");
  assert.equal(shift(0, diff("ab", "abc")), 0, "one after it does not");
  assert.equal(shift(3, diff("abcdef", "af")), 1, "a caret inside deleted text goes to where it was");
});

test("a mark covers a selection only when it covers every character", () => {
  const marks = [{ start: 0, end: 3, name: "bold", value: true }, { start: 3, end: 6, name: "bold", value: true }];
  assert.equal(covered(marks, "bold", 1, 5), true, "adjacent ranges join");
  assert.equal(covered(marks, "bold", 4, 7), false);
  assert.equal(covered(marks, "italic", 0, 1), false);
});
