// A game session: the socket (partysocket's reconnecting WebSocket on
// partyURL), the state built from the server's snapshot and ticks, client-side
// interpolation of the 20 Hz ticks for smooth motion, and what steering sends.
import ReconnectingWebSocket from "partysocket/ws";
import { ConnectionStatus, partyURL, toast } from "@warren/shared";
import { adviceFor, type ClientFrame, type Score, type ServerFrame, type WireItem, type WirePlayer } from "./protocol.ts";

export interface PlayerView extends WirePlayer {
  fromLat: number; fromLng: number; toLat: number; toLng: number; t0: number; t1: number;
  curLat: number; curLng: number;
}

/** The page's game state, exposed read-only on window.globe for tests and curious players. */
export const state = {
  session: "",
  /** Your player number; 0 while watching. */
  you: 0,
  /** The connection id (?_pk=), secret: the server never shows it to others. */
  id: "",
  /** Your public id (players and the leaderboard show it). */
  uid: "",
  spectator: false,
  connected: false,
  tickMs: 50,
  players: new Map<number, PlayerView>(),
  items: new Map<number, WireItem>(),
  top: [] as Score[],
  spectators: 0,
  latency: -1,
  /** The template room's visitors, by marker id. */
  visitors: new Map<string, { lat: number; lng: number }>(),
  /** steer sends a heading (degrees clockwise from north) and whether to move. */
  steer: (_h: number, _moving: boolean) => {},
};

/** Hooks the page gives a session: redraw the HUD, the latency, the end of the game. */
export interface SessionHooks {
  changed(): void;
  latency(ms: number): void;
  /** The server ended this page's game for good (its message was shown). */
  stopped(): void;
}

/** A connected session; leave() closes it. */
export interface Session { leave(): void }

/**
 * joinSession connects to session with the connect parameters q (name, token,
 * spectate) and keeps state current until leave() or a refusal a retry
 * cannot change (see adviceFor).
 */
export function joinSession(session: string, q: Record<string, string>, status: ConnectionStatus, hooks: SessionHooks): Session {
  reset();
  state.session = session;
  // A connection id per join: leaving and playing again is a new player, while a
  // reconnect of this socket (same id) gets the player back.
  state.id = crypto.randomUUID();
  const wantSpectate = q["spectate"] === "1";
  let warned = 0; // the close code last told to the player, until the next open
  status.set("connecting", "connecting…");
  const socket = new ReconnectingWebSocket(() => partyURL("globe", session, { pk: state.id, query: q }), [], {
    shouldReconnectOnClose: (e: CloseEvent) => adviceFor(e.code).reconnect,
  });
  let pingAt = 0, stopped = false;
  socket.addEventListener("open", () => {
    state.connected = true;
    warned = 0;
    status.set("online", "online");
  });
  socket.addEventListener("close", (e: CloseEvent) => {
    if (stopped) return; // left
    state.connected = false;
    const advice = adviceFor(e.code);
    if (advice.message && warned !== e.code) {
      warned = e.code;
      toast(advice.message, { kind: advice.reconnect ? "info" : "error" });
    }
    if (advice.reconnect) {
      status.set("offline", "reconnecting…");
      return;
    }
    status.set("error", "disconnected");
    stop();
    hooks.stopped();
  });
  socket.addEventListener("message", (ev: MessageEvent) => {
    if (stopped) return;
    const data = String(ev.data);
    if (data === "pong") {
      state.latency = performance.now() - pingAt;
      hooks.latency(state.latency);
      return;
    }
    let m: ServerFrame;
    try {
      m = JSON.parse(data);
    } catch {
      return;
    }
    if (m.type === "welcome" && m.spectator && !wantSpectate) toast("This session is full: you are watching.");
    if (handle(m)) hooks.changed();
  });
  const pinger = setInterval(() => {
    if (socket.readyState === WebSocket.OPEN) { pingAt = performance.now(); socket.send("ping"); }
  }, 2000);

  // Steering: send on change, at most every 60 ms, and again every second while moving.
  let want = { h: 0, m: false }, sent = { h: -1, m: false }, lastSend = 0, timer = 0;
  const flush = () => {
    timer = 0;
    if (!state.connected || state.spectator) return;
    sent = { ...want };
    lastSend = performance.now();
    const input: ClientFrame = { type: "input", h: Math.round(want.h * 10) / 10, m: want.m ? 1 : 0 };
    socket.send(JSON.stringify(input));
  };
  state.steer = (h: number, moving: boolean) => {
    want = { h: ((h % 360) + 360) % 360, m: moving };
    if (want.h === sent.h && want.m === sent.m && performance.now() - lastSend < 1000) return;
    if (!timer) timer = window.setTimeout(flush, Math.max(0, 60 - (performance.now() - lastSend)));
  };
  const keepMoving = setInterval(() => { if (want.m) state.steer(want.h, want.m); }, 1000);

  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(pinger);
    clearInterval(keepMoving);
    clearTimeout(timer);
    state.steer = () => {};
    state.connected = false;
  };
  return {
    leave: () => {
      stop();
      socket.close(1000, "left");
      reset();
      status.set("idle", "");
    },
  };
}

/** reset forgets the session's state. */
function reset(): void {
  state.session = "";
  state.you = 0;
  state.uid = "";
  state.spectator = false;
  state.connected = false;
  state.players.clear();
  state.items.clear();
  state.top = [];
  state.spectators = 0;
  state.latency = -1;
}

/** handle applies a server frame to state and reports whether the HUD changed. */
function handle(m: ServerFrame): boolean {
  const now = performance.now();
  switch (m.type) {
    case "welcome":
      state.you = m.you; state.uid = m.uid ?? ""; state.spectator = m.spectator; state.tickMs = 1000 / m.tickRate;
      return true;
    case "snapshot":
      state.players.clear();
      state.items.clear();
      for (const p of m.players) upsert(p, now);
      for (const it of m.items) state.items.set(it.n, it);
      state.spectators = m.spectators;
      return true;
    case "tick": {
      let changed = false;
      for (const p of m.j ?? []) { upsert(p, now); changed = true; }
      for (const n of m.l ?? []) { state.players.delete(n); changed = true; }
      for (const [n, lat, lng, h] of m.p ?? []) {
        const p = state.players.get(n);
        if (!p) continue;
        p.fromLat = p.curLat; p.fromLng = p.curLng; p.toLat = lat; p.toLng = lng; p.h = h;
        p.lat = lat; p.lng = lng; p.t0 = now; p.t1 = now + state.tickMs;
      }
      for (const [n, score] of m.s ?? []) {
        const p = state.players.get(n);
        if (p) { p.score = score; changed = true; }
      }
      for (const it of m.i ?? []) state.items.set(it.n, it);
      for (const n of m.t ?? []) state.items.delete(n);
      if (typeof m.sp === "number" && m.sp !== state.spectators) { state.spectators = m.sp; changed = true; }
      return changed;
    }
    case "leaderboard":
      state.top = m.top;
      return true;
    case "error":
      console.warn("server:", m.message);
      return false;
  }
  return false;
}

function upsert(p: WirePlayer, now: number): void {
  const old = state.players.get(p.n);
  const v: PlayerView = {
    ...p, fromLat: old?.curLat ?? p.lat, fromLng: old?.curLng ?? p.lng, toLat: p.lat, toLng: p.lng,
    t0: now, t1: now + state.tickMs, curLat: old?.curLat ?? p.lat, curLng: old?.curLng ?? p.lng,
  };
  state.players.set(p.n, v);
}

// Interpolation: each player moves from its rendered position to the latest
// server position over one tick interval, so 20 Hz updates render smoothly.
function lerpLng(a: number, b: number, t: number): number {
  let d = b - a;
  if (d > 180) d -= 360;
  if (d < -180) d += 360;
  let v = a + d * t;
  if (v > 180) v -= 360;
  if (v < -180) v += 360;
  return v;
}

/** advance moves every player to where it is drawn at time now (curLat, curLng). */
export function advance(now: number): void {
  for (const p of state.players.values()) {
    const t = Math.min(1, Math.max(0, (now - p.t0) / Math.max(1, p.t1 - p.t0)));
    p.curLat = p.fromLat + (p.toLat - p.fromLat) * t;
    p.curLng = lerpLng(p.fromLng, p.toLng, t);
  }
}

/** focus is where the camera looks: your dot, or for spectators the leader's (a little toward the equator). */
export function focus(): [number, number] | null {
  const me = state.players.get(state.you);
  if (me) return [me.curLat, me.curLng];
  let lead: PlayerView | undefined;
  for (const p of state.players.values()) if (!lead || p.score > lead.score) lead = p;
  if (lead) return [lead.curLat * 0.5, lead.curLng];
  return null;
}
