// The durable-chat-template flow with the stock npm partysocket client: connect to
// /parties/chat/<room>, receive {type:"all"}, send add and update frames, see them
// broadcast to everyone, and find them in the history of a later client.
// Usage: node template-client.mjs <host:port> <room>
import PartySocket from "partysocket";
import WS from "ws";

const [host, room] = process.argv.slice(2);
const fail = (msg) => { console.error("FAIL:", msg); process.exit(1); };
setTimeout(() => fail("timeout"), 15000).unref();

const seen = new Set();
function client(name) {
  const ws = new PartySocket({ host, room, party: "chat", WebSocket: WS });
  const frames = [];
  const waiters = [];
  ws.addEventListener("message", (e) => {
    const f = JSON.parse(e.data);
    frames.push(f);
    seen.add(f.type);
    for (const w of [...waiters]) if (w.test(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
  });
  const next = (test) => {
    const i = frames.findIndex(test);
    if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
    return new Promise((resolve) => waiters.push({ test, resolve }));
  };
  return { ws, name, next };
}

const a = client("Alice");
const all = await a.next((f) => f.type === "all");
if (!Array.isArray(all.messages) || all.messages.length !== 0) fail("new room should be empty: " + JSON.stringify(all));
const b = client("Bob");
await b.next((f) => f.type === "all");

a.ws.send(JSON.stringify({ type: "add", id: "tmpl0001", content: "hello from partysocket", user: "Alice", role: "user" }));
for (const c of [a, b]) {
  const f = await c.next((f) => f.type === "add" && f.id === "tmpl0001");
  if (f.content !== "hello from partysocket" || f.user !== "Alice" || f.role !== "user") fail("add frame: " + JSON.stringify(f));
}
a.ws.send(JSON.stringify({ type: "update", id: "tmpl0001", content: "edited", user: "Alice", role: "user" }));
for (const c of [a, b]) {
  const f = await c.next((f) => f.type === "update" && f.id === "tmpl0001");
  if (f.content !== "edited") fail("update frame: " + JSON.stringify(f));
}
const c = client("Carol");
const hist = await c.next((f) => f.type === "all");
if (hist.messages.length !== 1 || hist.messages[0].id !== "tmpl0001" || hist.messages[0].content !== "edited") {
  fail("history: " + JSON.stringify(hist));
}
// A stock client must only ever see template frame types.
for (const x of [a, b, c]) x.ws.close();
for (const t of seen) if (!["all", "add", "update"].includes(t)) fail("stock client received a " + t + " frame");
console.log("ok");
process.exit(0);
