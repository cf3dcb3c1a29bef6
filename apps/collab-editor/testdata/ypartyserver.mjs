// y-partyserver's provider (npm y-partyserver/provider, the client of Cloudflare's
// y-partyserver), connected unchanged to the document namespace: it writes s
// and reads back what a second provider (a late joiner) gets.
//
//   node ypartyserver.mjs <host:port> <room> <s>
//
// Output: one JSON line {"a": text of the writer, "b": text of the joiner}.
import * as Y from "yjs";
import YProvider from "y-partyserver/provider";
import WebSocket from "ws";

const [host, room, s] = process.argv.slice(2);
const timeout = setTimeout(() => { console.error("timeout"); process.exit(2); }, 20000);

function peer() {
  const doc = new Y.Doc();
  const provider = new YProvider(host, room, doc, { party: "document", WebSocketPolyfill: WebSocket, disableBc: true });
  const synced = new Promise((resolve) => provider.once("sync", (ok) => ok && resolve()));
  return { doc, text: doc.getText("content"), provider, synced };
}

const until = (cond) => new Promise((resolve) => { const tick = () => (cond() ? resolve() : setTimeout(tick, 10)); tick(); });

const a = peer();
await a.synced;
a.text.insert(a.text.length, s);
const b = peer();
await b.synced;
await until(() => b.text.toString() === a.text.toString());
clearTimeout(timeout);
console.log(JSON.stringify({ a: a.text.toString(), b: b.text.toString() }));
process.exit(0);
