// The multiplayer-globe-template flow with the stock npm partysocket client:
// two visitors at /parties/globe/default; each gets an add-marker for every
// connected visitor, itself included (its marker id is its partysocket id, ?_pk=),
// and the first gets a remove-marker when the second leaves.
// Usage: node template-client.mjs <host:port>
import PartySocket from "partysocket";
import WS from "ws";

const [host] = process.argv.slice(2);
const fail = (msg) => { console.error("FAIL:", msg); process.exit(1); };
setTimeout(() => fail("timeout"), 15000).unref();

const types = new Set();
function visitor(opts) {
  const ws = new PartySocket({ host, party: "globe", room: "default", WebSocket: WS, ...opts });
  const frames = [];
  const waiters = [];
  ws.addEventListener("message", (e) => {
    const f = JSON.parse(e.data);
    types.add(f.type);
    frames.push(f);
    for (const w of [...waiters]) if (w.test(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
  });
  const next = (test) => {
    const i = frames.findIndex(test);
    if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
    return new Promise((resolve) => waiters.push({ test, resolve }));
  };
  return { ws, next };
}
const addFor = (id) => (f) => f.type === "add-marker" && f.position && f.position.id === id;

// Alice gives her position; bob has partysocket's generated id and no position.
const a = visitor({ id: "alice-tmpl", query: { lat: "48.85", lng: "2.35" } });
const own = await a.next(addFor(a.ws.id));
if (own.position.lat !== 48.85 || own.position.lng !== 2.35) fail("alice's marker: " + JSON.stringify(own));
const b = visitor({ query: {} });
if (!b.ws.id || b.ws.id === a.ws.id) fail("bob's partysocket id: " + b.ws.id);
const bSelf = await b.next(addFor(b.ws.id));
const bAlice = await b.next(addFor(a.ws.id));
if (bAlice.position.lat !== 48.85) fail("bob's marker for alice: " + JSON.stringify(bAlice));
for (const m of [bSelf, bAlice]) {
  const p = m.position;
  if (typeof p.lat !== "number" || typeof p.lng !== "number" || Math.abs(p.lat) > 90 || Math.abs(p.lng) > 180) fail("bad position " + JSON.stringify(m));
}
await a.next(addFor(b.ws.id));
// Bob leaves: alice gets remove-marker with bob's id.
b.ws.close();
const rm = await a.next((f) => f.type === "remove-marker");
if (rm.id !== b.ws.id) fail("remove-marker: " + JSON.stringify(rm) + ", want id " + b.ws.id);
a.ws.close();
for (const t of types) if (!["add-marker", "remove-marker"].includes(t)) fail("stock client received a " + t + " frame");
console.log("ok");
process.exit(0);
