// Front end of the multiplayer globe: a cobe WebGL globe (2D canvas fallback)
// with the players' names next to their dots, the start panel (name, Play or
// Watch: the lobby picks the session), the HUD, Leave, and the template's room
// at /default. The page has one theme, dark (see index.html).
import "@warren/shared/design.css";
import createGlobe from "cobe";
import { $, ConnectionStatus, confirmDialog, toast } from "@warren/shared";
import { bindControls } from "./controls.ts";
import { focus, joinSession, advance, state, type Session } from "./game.ts";
import { playerCSS, playerRGB, renderHUD } from "./hud.ts";
import { Labels, type Labelled } from "./labels.ts";
import { createRenderer, type Dot } from "./render.ts";
import { joinTemplateRoom } from "./template.ts";

(window as unknown as { globe: typeof state }).globe = state;

const params = new URLSearchParams(location.search);
const inTemplateRoom = location.pathname.replace(/\/+$/, "") === "/default";
const status = new ConnectionStatus($("#status"));
const labels = new Labels($("#labels"));
const nameInput = $<HTMLInputElement>("#name");

// Dot sizes (cobe's units): yours is the largest.
const YOU = 0.11, PLAYER = 0.085, VISITOR = 0.05;

/** dots lists what the globe draws, most important first (the WebGL globe has room for 64): your dot, the other players, the collectibles. */
function dots(): Dot[] {
  const out: Dot[] = [];
  if (inTemplateRoom) {
    for (const [id, v] of state.visitors) {
      const mine = id === state.id;
      const d: Dot = { lat: v.lat, lng: v.lng, size: mine ? YOU : VISITOR, color: mine ? [1, 0.8, 0.2] : [0.3, 0.8, 1] };
      if (mine) out.unshift(d); else out.push(d);
    }
    return out;
  }
  advance(performance.now());
  for (const p of state.players.values()) {
    const d: Dot = { lat: p.curLat, lng: p.curLng, size: p.n === state.you ? YOU : PLAYER, color: playerRGB(p.color) };
    if (p.n === state.you) out.unshift(d); else out.push(d);
  }
  for (const it of state.items.values()) {
    out.push({ lat: it.lat, lng: it.lng, size: it.v > 1 ? 0.06 : 0.035, color: it.v > 1 ? [1, 0.85, 0.1] : [1, 1, 1] });
  }
  return out;
}

/** labelled lists the dots that get a label: every player (in the template's room, your own dot only). */
function labelled(): Labelled[] {
  if (inTemplateRoom) {
    const v = state.visitors.get(state.id);
    return v ? [{ n: 0, name: "", lat: v.lat, lng: v.lng, size: YOU, color: "rgb(255 204 51)", you: true }] : [];
  }
  return [...state.players.values()].map((p) => ({
    n: p.n, name: p.name, lat: p.curLat, lng: p.curLng,
    size: p.n === state.you ? YOU : PLAYER, color: playerCSS(p.color), you: p.n === state.you,
  }));
}

createRenderer($<HTMLCanvasElement>("#globe"), createGlobe, dots, () => (inTemplateRoom ? null : focus()), (view) => labels.update(view, labelled()));

/** show switches the page between the start panel, a game, and the template's room. */
function show(view: "start" | "game" | "template"): void {
  document.body.dataset["view"] = view;
  $("#start").hidden = view !== "start";
  $("#hud").hidden = view !== "game";
  $("#template-hud").hidden = view !== "template";
  $("#leave").hidden = view !== "game";
  if (view !== "game") $("#role").hidden = true;
}

function title(text: string, session = ""): void {
  $("#title-text").textContent = text;
  $("#session-name").textContent = session;
  document.title = session ? `${session} · Warren globe` : `${text} · Warren globe`;
}

// ---------- game ----------

/** token is the player's secret, kept in the browser: the same token is the same entry on the leaderboard. */
function token(): string {
  let t = localStorage.getItem("globe-token");
  if (!t || !/^[A-Za-z0-9_-]{16,128}$/.test(t)) {
    const b = crypto.getRandomValues(new Uint8Array(24));
    t = Array.from(b, (x) => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"[x & 63]).join("");
    localStorage.setItem("globe-token", t);
  }
  return t;
}

/** The session named by the address: /session/<name> or ?session=. */
function sessionInURL(): string {
  const path = location.pathname;
  return new URLSearchParams(location.search).get("session") ?? (path.startsWith("/session/") ? decodeURIComponent(path.slice(9)) : "");
}

let current: Session | null = null;
let joining = false;

async function join(spectate: boolean): Promise<void> {
  if (current || joining) return;
  const name = nameInput.value.trim();
  if (name) localStorage.setItem("globe-name", name);
  $("#start-error").textContent = "";
  let session = sessionInURL();
  if (!session) {
    joining = true;
    try {
      const r = await fetch("/api/join" + (spectate ? "?spectate=1" : ""));
      const j = await r.json().catch(() => ({}));
      if (!r.ok || typeof j.session !== "string") {
        $("#start-error").textContent = j.error ?? "Cannot join now: try again in a moment.";
        return;
      }
      session = j.session;
    } catch {
      $("#start-error").textContent = "Cannot reach the server: check your connection and try again.";
      return;
    } finally {
      joining = false;
    }
  }
  // The server decides where you start.
  const q: Record<string, string> = { name, token: token() };
  if (spectate) q["spectate"] = "1";
  show("game");
  title("Session", session);
  history.replaceState(null, "", "/session/" + encodeURIComponent(session) + (spectate ? "?spectate=1" : ""));
  current = joinSession(session, q, status, {
    changed: scheduleHUD,
    latency: (ms) => { $("#latency").textContent = `${Math.round(ms)} ms`; },
    stopped: () => backToStart(),
  });
  bindControls($("#stage"));
  drawHUD();
}

/** backToStart ends the game on this page and shows the start panel, focused on Play. */
function backToStart(): void {
  current?.leave();
  current = null;
  labels.forget(() => false);
  show("start");
  title("Multiplayer globe");
  history.replaceState(null, "", "/");
  $("#latency").textContent = "–";
  $("#play").focus();
}

let hudQueued = false;
/** scheduleHUD redraws the HUD once before the next frame, however many ticks arrived. */
function scheduleHUD(): void {
  if (hudQueued) return;
  hudQueued = true;
  requestAnimationFrame(() => { hudQueued = false; drawHUD(); });
}

function drawHUD(): void {
  if (!current) return;
  $("#role").hidden = !state.spectator;
  renderHUD({
    spectator: state.spectator,
    score: state.players.get(state.you)?.score ?? 0,
    players: [...state.players.values()].map((p) => ({ n: p.n, name: p.name, color: p.color, score: p.score, you: p.n === state.you })),
    spectators: state.spectators,
    top: state.top,
    uid: state.uid,
  });
  labels.forget((n) => state.players.has(n));
}

$("#leave").addEventListener("click", async () => {
  if (!current) return;
  const session = state.session;
  if (!state.spectator) {
    const ok = await confirmDialog({
      title: "Leave this session?",
      message: "Your dot leaves the globe. The points you collected stay on the all-time board.",
      confirm: "Leave",
      id: "leave-dialog",
    });
    if (!ok || !current) return;
  }
  backToStart();
  toast(`You left ${session}.`);
});

// ---------- start ----------

if (inTemplateRoom) {
  show("template");
  title("The template's room");
  joinTemplateRoom(status, (text) => { $("#visitors").textContent = text; });
} else {
  show("start");
  nameInput.value = params.get("name") ?? localStorage.getItem("globe-name") ?? "";
  $("#start-form").addEventListener("submit", (e) => { e.preventDefault(); void join(false); });
  $("#watch").addEventListener("click", () => void join(true));
  if (sessionInURL() || params.get("autostart") === "1") void join(params.get("spectate") === "1");
}
