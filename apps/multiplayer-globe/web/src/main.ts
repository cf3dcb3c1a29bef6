// Front end of the multiplayer globe: a cobe WebGL globe (2D canvas fallback),
// partysocket for the connection, client-side interpolation of the 20 Hz
// server ticks for smooth 60 fps motion, keyboard and touch steering, and a HUD.
import PartySocket from "partysocket";
import createGlobe from "cobe";
import { type Globe, type Dot, createRenderer, anglesFor } from "./render.ts";

interface WirePlayer { n: number; id: string; name: string; color: number; lat: number; lng: number; h: number; score: number }
interface WireItem { n: number; lat: number; lng: number; v: number }
interface Score { id: string; name: string; best: number; total: number }

interface PlayerView extends WirePlayer {
  fromLat: number; fromLng: number; toLat: number; toLng: number; t0: number; t1: number;
  curLat: number; curLng: number;
}

export const PALETTE: [number, number, number][] = [
  [0.3, 0.8, 1], [1, 0.45, 0.45], [0.5, 1, 0.5], [1, 0.6, 1], [1, 0.75, 0.3], [0.6, 0.6, 1],
  [0.3, 1, 0.85], [1, 1, 0.5], [0.85, 0.5, 1], [0.5, 0.9, 0.3], [1, 0.55, 0.75], [0.7, 0.85, 1],
];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>("globe");

// State, exposed read-only on window.globe for tests and curious players.
const state = {
  session: "",
  you: 0,
  id: "",
  uid: "", // your public id (players and the leaderboard show it; your connection id stays secret)
  spectator: false,
  connected: false,
  tickMs: 50,
  players: new Map<number, PlayerView>(),
  items: new Map<number, WireItem>(),
  top: [] as Score[],
  spectators: 0,
  latency: -1,
  visitors: new Map<string, { lat: number; lng: number }>(),
  steer: (_h: number, _moving: boolean) => {},
};
(window as unknown as { globe: typeof state }).globe = state;

const path = location.pathname.replace(/\/+$/, "");
const params = new URLSearchParams(location.search);
let globe: Globe;

function startGlobe(): void {
  globe = createRenderer(canvas, createGlobe, () => dots(), () => focus());
}

// ---------- template room ----------

function startTemplate(): void {
  $("start").hidden = true;
  $("template-hud").hidden = false;
  startGlobe();
  const q: Record<string, string> = { tzo: String(new Date().getTimezoneOffset()) };
  const lat = params.get("lat"), lng = params.get("lng");
  if (lat && lng) { q.lat = lat; q.lng = lng; }
  const socket = new PartySocket({ host: location.host, protocol: location.protocol === "https:" ? "wss" : "ws", party: "globe", room: "default", query: q });
  state.id = socket.id;
  socket.addEventListener("message", (ev) => {
    const m = JSON.parse(String(ev.data));
    if (m.type === "add-marker") state.visitors.set(m.position.id, { lat: m.position.lat, lng: m.position.lng });
    else if (m.type === "remove-marker") state.visitors.delete(m.id);
    $("visitors").textContent = String(state.visitors.size);
  });
  socket.addEventListener("close", () => state.visitors.clear());
}

// ---------- game ----------

/** token is the player's secret, kept in the browser: the same token is the same entry on the leaderboard. */
function token(): string {
  let t = localStorage.getItem("globe-token");
  if (!t) {
    const b = crypto.getRandomValues(new Uint8Array(24));
    t = Array.from(b, (x) => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"[x & 63]).join("");
    localStorage.setItem("globe-token", t);
  }
  return t;
}

async function join(spectate: boolean): Promise<void> {
  const nameInput = $<HTMLInputElement>("name");
  const name = nameInput.value.trim();
  if (name) localStorage.setItem("globe-name", name);
  let session = params.get("session") ?? (path.startsWith("/session/") ? decodeURIComponent(path.slice(9)) : "");
  if (!session) {
    const r = await fetch("/api/join" + (spectate ? "?spectate=1" : ""));
    const j = await r.json();
    if (!r.ok) { $("start-error").textContent = j.error ?? "cannot join now: try again later"; return; }
    session = j.session;
  }
  // The server decides where you start.
  const q: Record<string, string> = { name, token: token() };
  if (spectate) q.spectate = "1";
  $("start").hidden = true;
  $("hud").hidden = false;
  history.replaceState(null, "", "/session/" + encodeURIComponent(session) + (spectate ? "?spectate=1" : ""));
  connect(session, q);
}

function connect(session: string, q: Record<string, string>): void {
  state.session = session;
  $("session-name").textContent = session;
  const socket = new PartySocket({ host: location.host, protocol: location.protocol === "https:" ? "wss" : "ws", party: "globe", room: session, query: q });
  state.id = socket.id;
  let pingAt = 0;
  socket.addEventListener("open", () => {
    state.connected = true;
    $("status").textContent = "online";
  });
  socket.addEventListener("close", () => {
    state.connected = false;
    $("status").textContent = "reconnecting";
  });
  socket.addEventListener("message", (ev) => {
    const data = String(ev.data);
    if (data === "pong") {
      state.latency = performance.now() - pingAt;
      $("latency").textContent = `${Math.round(state.latency)} ms`;
      return;
    }
    handle(JSON.parse(data));
  });
  setInterval(() => {
    if (socket.readyState === WebSocket.OPEN) { pingAt = performance.now(); socket.send("ping"); }
  }, 2000);

  // Steering: send on change, at most every 60 ms, and again every second while moving.
  let want = { h: 0, m: false }, sent = { h: -1, m: false }, lastSend = 0, timer = 0;
  const flush = () => {
    timer = 0;
    if (!state.connected || state.spectator) return;
    sent = { ...want };
    lastSend = performance.now();
    socket.send(JSON.stringify({ type: "input", h: Math.round(want.h * 10) / 10, m: want.m ? 1 : 0 }));
  };
  state.steer = (h: number, moving: boolean) => {
    want = { h: ((h % 360) + 360) % 360, m: moving };
    if (want.h === sent.h && want.m === sent.m && performance.now() - lastSend < 1000) return;
    if (!timer) timer = window.setTimeout(flush, Math.max(0, 60 - (performance.now() - lastSend)));
  };
  setInterval(() => { if (want.m) state.steer(want.h, want.m); }, 1000);
  bindControls();
}

function handle(m: any): void {
  const now = performance.now();
  switch (m.type) {
    case "welcome":
      state.you = m.you; state.uid = m.uid ?? ""; state.spectator = m.spectator; state.tickMs = 1000 / m.tickRate;
      $("role").textContent = m.spectator ? "(watching)" : "";
      break;
    case "snapshot":
      state.players.clear();
      state.items.clear();
      for (const p of m.players as WirePlayer[]) upsert(p, now);
      for (const it of m.items as WireItem[]) state.items.set(it.n, it);
      state.spectators = m.spectators;
      break;
    case "tick":
      for (const p of (m.j ?? []) as WirePlayer[]) upsert(p, now);
      for (const n of (m.l ?? []) as number[]) state.players.delete(n);
      for (const [n, lat, lng, h] of (m.p ?? []) as [number, number, number, number][]) {
        const p = state.players.get(n);
        if (!p) continue;
        p.fromLat = p.curLat; p.fromLng = p.curLng; p.toLat = lat; p.toLng = lng; p.h = h;
        p.lat = lat; p.lng = lng; p.t0 = now; p.t1 = now + state.tickMs;
      }
      for (const [n, score] of (m.s ?? []) as [number, number][]) {
        const p = state.players.get(n);
        if (p) p.score = score;
      }
      for (const it of (m.i ?? []) as WireItem[]) state.items.set(it.n, it);
      for (const n of (m.t ?? []) as number[]) state.items.delete(n);
      if (typeof m.sp === "number") state.spectators = m.sp;
      break;
    case "leaderboard":
      state.top = m.top;
      break;
    case "error":
      console.warn("server:", m.message);
      return;
  }
  renderHUD();
}

function upsert(p: WirePlayer, now: number): void {
  const old = state.players.get(p.n);
  const v: PlayerView = {
    ...p, fromLat: old?.curLat ?? p.lat, fromLng: old?.curLng ?? p.lng, toLat: p.lat, toLng: p.lng,
    t0: now, t1: now + state.tickMs, curLat: old?.curLat ?? p.lat, curLng: old?.curLng ?? p.lng,
  };
  state.players.set(p.n, v);
}

function renderHUD(): void {
  $("players-count").textContent = String(state.players.size);
  $("spectators").textContent = String(state.spectators);
  $("you-score").textContent = String(state.players.get(state.you)?.score ?? 0);
  const roster = $("roster");
  const sorted = [...state.players.values()].sort((a, b) => b.score - a.score || a.n - b.n);
  roster.replaceChildren(...sorted.slice(0, 20).map((p) => {
    const li = document.createElement("li");
    li.dataset.n = String(p.n);
    if (p.n === state.you) li.className = "you";
    const sw = document.createElement("span");
    sw.className = "swatch";
    const c = PALETTE[p.color % PALETTE.length]!;
    sw.style.background = `rgb(${c.map((x) => Math.round(x * 255)).join(",")})`;
    li.append(sw, document.createTextNode(`${p.name} · ${p.score}`)); // text, never HTML
    return li;
  }));
  $("leaderboard").replaceChildren(...state.top.map((s) => {
    const li = document.createElement("li");
    li.textContent = `${s.name} · ${s.best}`;
    if (s.id === state.uid) li.className = "you";
    return li;
  }));
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

// dots lists what the globe draws, most important first (the WebGL globe has
// room for 64): your own dot, the other players, the collectibles.
function dots(): Dot[] {
  const now = performance.now();
  const out: Dot[] = [];
  if (path === "/default") {
    for (const [id, v] of state.visitors) {
      const mine = id === state.id;
      const d: Dot = { lat: v.lat, lng: v.lng, size: mine ? 0.1 : 0.05, color: mine ? [1, 0.8, 0.2] : [0.3, 0.8, 1] };
      if (mine) out.unshift(d); else out.push(d);
    }
    return out;
  }
  for (const p of state.players.values()) {
    const t = Math.min(1, Math.max(0, (now - p.t0) / Math.max(1, p.t1 - p.t0)));
    p.curLat = p.fromLat + (p.toLat - p.fromLat) * t;
    p.curLng = lerpLng(p.fromLng, p.toLng, t);
    const d: Dot = { lat: p.curLat, lng: p.curLng, size: p.n === state.you ? 0.1 : 0.07, color: PALETTE[p.color % PALETTE.length]! };
    if (p.n === state.you) out.unshift(d); else out.push(d);
  }
  for (const it of state.items.values()) {
    out.push({ lat: it.lat, lng: it.lng, size: it.v > 1 ? 0.06 : 0.035, color: it.v > 1 ? [1, 0.85, 0.1] : [1, 1, 1] });
  }
  return out;
}

// The camera follows your dot; spectators follow the leader. North stays up, so
// screen directions are compass directions.

function focus(): [number, number] | null {
  const me = state.players.get(state.you);
  if (me) return anglesFor(me.curLat, me.curLng);
  let lead: PlayerView | undefined;
  for (const p of state.players.values()) if (!lead || p.score > lead.score) lead = p;
  if (lead) return anglesFor(lead.curLat * 0.5, lead.curLng);
  return null;
}

let bound = false;
function bindControls(): void {
  if (bound) return;
  bound = true;
  const keys = new Set<string>();
  const dirs: Record<string, [number, number]> = {
    ArrowUp: [0, 1], KeyW: [0, 1], ArrowDown: [0, -1], KeyS: [0, -1],
    ArrowLeft: [-1, 0], KeyA: [-1, 0], ArrowRight: [1, 0], KeyD: [1, 0],
  };
  const update = () => {
    let x = 0, y = 0;
    for (const k of keys) { const d = dirs[k]; if (d) { x += d[0]; y += d[1]; } }
    if (x === 0 && y === 0) state.steer(0, false);
    else state.steer((Math.atan2(x, y) * 180) / Math.PI, true);
  };
  addEventListener("keydown", (e) => {
    if (!(e.code in dirs) || (e.target as HTMLElement).tagName === "INPUT") return;
    e.preventDefault();
    if (!keys.has(e.code)) { keys.add(e.code); update(); }
  });
  addEventListener("keyup", (e) => { if (keys.delete(e.code)) update(); });
  addEventListener("blur", () => { keys.clear(); update(); });
  // Touch or mouse drag: steer in the direction of the drag from where it started.
  let origin: { x: number; y: number } | null = null;
  const stage = $("stage");
  stage.addEventListener("pointerdown", (e) => { origin = { x: e.clientX, y: e.clientY }; stage.setPointerCapture(e.pointerId); });
  stage.addEventListener("pointermove", (e) => {
    if (!origin) return;
    const dx = e.clientX - origin.x, dy = e.clientY - origin.y;
    if (Math.hypot(dx, dy) > 12) state.steer((Math.atan2(dx, -dy) * 180) / Math.PI, true);
  });
  const end = () => { if (origin) { origin = null; state.steer(0, false); } };
  stage.addEventListener("pointerup", end);
  stage.addEventListener("pointercancel", end);
}

// ---------- start ----------

if (path === "/default") {
  startTemplate();
} else {
  startGlobe();
  $<HTMLInputElement>("name").value = params.get("name") ?? localStorage.getItem("globe-name") ?? "";
  $("play").addEventListener("click", () => void join(false));
  $("watch").addEventListener("click", () => void join(true));
  if (path.startsWith("/session/") || params.get("autostart") === "1") void join(params.get("spectate") === "1");
}
