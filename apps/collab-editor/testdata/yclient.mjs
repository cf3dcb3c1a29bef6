// A real Yjs peer for the Go tests: npm yjs + y-websocket's WebsocketProvider
// (with the ws package as WebSocket), connected to the server unchanged.
//
//   node yclient.mjs converge <serverUrl> <room>       two clients type concurrently; prints the text both reach
//   node yclient.mjs write    <serverUrl> <room> <s>   appends s and waits until a fresh peer sees it
//   node yclient.mjs read     <serverUrl> <room>       prints the text a late joiner gets
//   node yclient.mjs join     <serverUrl> <room> <s> <marker>
//                                                      appends s, stays connected until the text holds
//                                                      marker and is quiet for 500 ms; prints it
//
// serverUrl is ws://host/parties/document. Output: one JSON line.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import WebSocket from "ws";

const [mode, serverUrl, room, arg] = process.argv.slice(2);
const timeout = setTimeout(() => { console.error("timeout"); process.exit(2); }, mode === "join" ? 60000 : 20000);

function peer() {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(serverUrl, room, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
  const synced = new Promise((resolve) => provider.once("sync", (s) => s && resolve()));
  return { doc, text: doc.getText("content"), provider, synced };
}

function until(cond) {
  return new Promise((resolve) => {
    const tick = () => (cond() ? resolve() : setTimeout(tick, 10));
    tick();
  });
}

function done(out) {
  clearTimeout(timeout);
  console.log(JSON.stringify(out));
  process.exit(0);
}

if (mode === "converge") {
  const a = peer(), b = peer();
  await Promise.all([a.synced, b.synced]);
  for (let i = 0; i < 20; i++) {
    a.text.insert(0, "a");
    b.text.insert(b.text.length, "b");
    await new Promise((r) => setTimeout(r, 5));
  }
  const count = (s, c) => s.split(c).length - 1;
  await until(() => a.text.toString() === b.text.toString() && count(a.text.toString(), "a") >= 20 && count(a.text.toString(), "b") >= 20);
  done({ a: a.text.toString(), b: b.text.toString() });
} else if (mode === "write") {
  const a = peer();
  await a.synced;
  const want = a.text.toString() + arg;
  a.text.insert(a.text.length, arg);
  const c = peer();
  await c.synced;
  await until(() => c.text.toString() === want);
  done({ text: want });
} else if (mode === "read") {
  const a = peer();
  await a.synced;
  await new Promise((r) => setTimeout(r, 100)); // raw log updates follow step 2
  done({ text: a.text.toString() });
} else if (mode === "join") {
  const marker = process.argv[6];
  const a = peer();
  await a.synced;
  a.text.insert(a.text.length, arg);
  let last = Date.now();
  a.text.observe(() => { last = Date.now(); });
  await until(() => a.text.toString().includes(marker) && Date.now() - last > 500);
  done({ text: a.text.toString() });
} else {
  console.error("unknown mode", mode);
  process.exit(2);
}
