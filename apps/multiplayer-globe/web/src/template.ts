// The template's global room (/default): one dot per visitor, wire-compatible
// with Cloudflare's multiplayer-globe-template (add-marker / remove-marker).
import ReconnectingWebSocket from "partysocket/ws";
import { ConnectionStatus, partyURL, plural } from "@warren/shared";
import { state } from "./game.ts";
import type { ServerFrame } from "./protocol.ts";

/**
 * joinTemplateRoom connects to /parties/globe/default as a visitor (with the
 * page's ?lat=&lng= if given, else the time zone's longitude) and keeps
 * state.visitors current; shown counts the visitors.
 */
export function joinTemplateRoom(status: ConnectionStatus, shown: (text: string) => void): void {
  const params = new URLSearchParams(location.search);
  const query: Record<string, string> = { tzo: String(new Date().getTimezoneOffset()) };
  const lat = params.get("lat"), lng = params.get("lng");
  if (lat && lng) { query["lat"] = lat; query["lng"] = lng; }
  // The marker id is the connection id, as with partysocket's socket.id: the page finds its own dot by it.
  state.id = crypto.randomUUID();
  const socket = new ReconnectingWebSocket(() => partyURL("globe", "default", { pk: state.id, query }));
  const count = () => shown(`${plural(state.visitors.size, "person", "people")} connected`);
  status.set("connecting", "connecting…");
  socket.addEventListener("open", () => status.set("online", "online"));
  socket.addEventListener("message", (ev: MessageEvent) => {
    let m: ServerFrame;
    try {
      m = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    if (m.type === "add-marker") state.visitors.set(m.position.id, { lat: m.position.lat, lng: m.position.lng });
    else if (m.type === "remove-marker") state.visitors.delete(m.id);
    count();
  });
  socket.addEventListener("close", () => {
    state.visitors.clear(); // the server sends them all again on reconnect
    status.set("offline", "reconnecting…");
  });
}
