// Connects to a Warren server with the partysocket npm client (Node, WebSocket from
// "ws"), exchanges messages, and exits 0 on success. Usage: node partysocket.cjs HOST
const { PartySocket } = require("partysocket");
const WS = require("ws");

const host = process.argv[2];
const fail = (msg) => { console.error(msg); process.exit(1); };
setTimeout(() => fail("timeout"), 10000);

const ws = new PartySocket({ host, party: "room", room: "npm", id: "node-client", WebSocket: WS });
const got = [];
ws.addEventListener("message", (ev) => {
  got.push(String(ev.data));
  if (got.length === 1) ws.send("whoami");
  if (got.length === 2) {
    const who = JSON.parse(got[1]);
    if (got[0] !== "echo:hello") fail("echo: " + got[0]);
    if (who.id !== "node-client") fail("id: " + got[1]);
    console.log("ok", got.join(" | "));
    ws.close();
    process.exit(0);
  }
});
ws.addEventListener("open", () => ws.send("hello"));
ws.addEventListener("error", (e) => console.error("error", e.message || e));
