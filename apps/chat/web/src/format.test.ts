import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInline, safeHref } from "./format.ts";

test("plain text stays one text token", () => {
  assert.deepEqual(parseInline("hello <b>world</b> & co"), [{ t: "text", text: "hello <b>world</b> & co" }]);
});

test("bold, italic, strike and code", () => {
  assert.deepEqual(parseInline("a **b** *c* _d_ ~~e~~ `f *g*`"), [
    { t: "text", text: "a " },
    { t: "strong", children: [{ t: "text", text: "b" }] },
    { t: "text", text: " " },
    { t: "em", children: [{ t: "text", text: "c" }] },
    { t: "text", text: " " },
    { t: "em", children: [{ t: "text", text: "d" }] },
    { t: "text", text: " " },
    { t: "del", children: [{ t: "text", text: "e" }] },
    { t: "text", text: " " },
    { t: "code", text: "f *g*" },
  ]);
});

test("snake_case and 2*3*4 are not emphasis", () => {
  assert.deepEqual(parseInline("my_var_name is 2*3*4"), [{ t: "text", text: "my_var_name is 2*3*4" }]);
});

test("bare links lose trailing punctuation; balanced parentheses stay", () => {
  assert.deepEqual(parseInline("see https://example.com/a_(b). ok"), [
    { t: "text", text: "see " },
    { t: "link", href: "https://example.com/a_(b)", label: "https://example.com/a_(b)" },
    { t: "text", text: ". ok" },
  ]);
  assert.deepEqual(parseInline("(www.example.org)"), [
    { t: "text", text: "(" },
    { t: "link", href: "https://www.example.org/", label: "www.example.org" },
    { t: "text", text: ")" },
  ]);
});

test("a javascript: or data: link is shown as text, never as a link", () => {
  for (const evil of ["[click](javascript:alert(1))", "[x](javascript:alert`1`)", "[x](data:text/html,hi)", "[x](JaVaScRiPt:alert(1))"]) {
    const toks = parseInline(evil);
    assert.ok(toks.every((t) => t.t !== "link"), `${evil} -> ${JSON.stringify(toks)}`);
  }
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref("vbscript:x"), null);
  assert.equal(safeHref("mailto:a@example.com"), "mailto:a@example.com");
  assert.deepEqual(parseInline("[docs](https://example.com/d)"), [{ t: "link", href: "https://example.com/d", label: "docs" }]);
});

test("nesting is bounded", () => {
  const deep = "**".repeat(50) + "x" + "**".repeat(50);
  assert.ok(JSON.stringify(parseInline(deep)).length < 10_000);
  assert.equal(parseInline("x".repeat(5000) + "*").length, 1);
});
