import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeHTML, partyURL } from "./index.ts";

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
