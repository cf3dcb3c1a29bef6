import { test } from "node:test";
import assert from "node:assert/strict";
import { PALETTE, distinctColors, escapeHTML, initials, partyPath, partyURL, plural } from "./index.ts";

test("escapeHTML makes hostile markup inert", () => {
  assert.equal(
    escapeHTML(`<img src=x onerror="alert('1')"> & co`),
    "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; co",
  );
  assert.equal(escapeHTML("plain"), "plain");
});

test("partyURL builds ws and wss URLs with encoded segments", () => {
  assert.equal(
    partyURL("chat", "my room/1", { base: "http://127.0.0.1:8787/r/x", pk: "abc" }),
    "ws://127.0.0.1:8787/parties/chat/my%20room%2F1?_pk=abc",
  );
  assert.equal(
    partyURL("stream", "cpu", { base: "https://example.com/", query: { since: "5" } }),
    "wss://example.com/parties/stream/cpu?since=5",
  );
});

test("partyPath encodes both segments and appends a sub-path", () => {
  assert.equal(partyPath("document", "a b/c"), "/parties/document/a%20b%2Fc");
  assert.equal(partyPath("document", "x", "versions/3"), "/parties/document/x/versions/3");
});

test("plural picks the English number", () => {
  assert.equal(plural(0, "player"), "0 players");
  assert.equal(plural(1, "player"), "1 player");
  assert.equal(plural(2, "spectator"), "2 spectators");
  assert.equal(plural(3, "person", "people"), "3 people");
});

test("distinctColors: every present id gets its own colour, the same on every client", () => {
  const ids = Array.from({ length: PALETTE.length }, (_, i) => `client-${i}`);
  const a = distinctColors(ids);
  assert.equal(new Set(a.values()).size, PALETTE.length);
  const b = distinctColors([...ids].reverse());
  assert.deepEqual([...b.entries()].sort(), [...a.entries()].sort());
  // More people than colours: colours repeat, but every id still has one.
  assert.equal(distinctColors([...ids, "one-more"]).size, PALETTE.length + 1);
});

test("initials takes the first character, not half of a surrogate pair", () => {
  assert.equal(initials(" alice"), "A");
  assert.equal(initials("😀 smile"), "😀");
  assert.equal(initials("   "), "?");
});
