// The heads-up display beside the globe: your score and latency, how many play
// and watch, the session's roster and the all-time leaderboard, each with its
// empty state. Names reach the DOM as text only.
import { $, el, plural } from "@warren/shared";
import type { Score } from "./protocol.ts";

/**
 * PALETTE is the players' colours on the globe (the server gives each player an
 * index into it), as cobe's 0..1 RGB.
 */
export const PALETTE: [number, number, number][] = [
  [0.3, 0.8, 1], [1, 0.45, 0.45], [0.5, 1, 0.5], [1, 0.6, 1], [1, 0.75, 0.3], [0.6, 0.6, 1],
  [0.3, 1, 0.85], [1, 1, 0.5], [0.85, 0.5, 1], [0.5, 0.9, 0.3], [1, 0.55, 0.75], [0.7, 0.85, 1],
];

/** playerRGB is the colour of palette index i, as cobe takes it. */
export function playerRGB(i: number): [number, number, number] {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

/** playerCSS is the colour of palette index i, as CSS. */
export function playerCSS(i: number): string {
  return `rgb(${playerRGB(i).map((x) => Math.round(x * 255)).join(" ")})`;
}

/** One player as the roster shows them. */
export interface RosterEntry { n: number; name: string; color: number; score: number; you: boolean }

/** What the HUD shows. */
export interface HUDState {
  spectator: boolean;
  score: number;
  players: RosterEntry[];
  spectators: number;
  top: Score[];
  /** Your public id: your row of the leaderboard is marked. */
  uid: string;
}

/** The roster shows at most this many players (the best first). */
const ROSTER_MAX = 20;

/** renderHUD shows s in the #hud panel. */
export function renderHUD(s: HUDState): void {
  $("#you-score").textContent = String(s.score);
  $("#you-score").closest("div")!.hidden = s.spectator;
  $("#players-count").textContent = plural(s.players.length, "player");
  $("#spectators").textContent = s.spectator ? `${plural(s.spectators, "spectator")}, you among them` : plural(s.spectators, "spectator");
  $("#hint").textContent = s.spectator
    ? "You are watching: the camera follows the leader. Leave, then Play, to join in."
    : matchMedia("(pointer: coarse)").matches
      ? "Drag on the globe to steer: your dot goes the way you drag. Lift your finger to stop."
      : "Steer with the arrow keys or W A S D, or drag on the globe.";

  const sorted = [...s.players].sort((a, b) => b.score - a.score || a.n - b.n);
  $("#roster").replaceChildren(...sorted.slice(0, ROSTER_MAX).map(rosterRow));
  $("#roster-empty").hidden = s.players.length > 0;

  $("#leaderboard").replaceChildren(...s.top.map((t) => scoreRow(t, t.id === s.uid)));
  $("#leaderboard-empty").hidden = s.top.length > 0;
}

function rosterRow(p: RosterEntry): HTMLLIElement {
  const li = el("li", { class: p.you ? "you" : undefined, "data-n": String(p.n) });
  const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
  swatch.style.background = playerCSS(p.color);
  li.append(swatch, el("span", { class: "name", text: p.name }));
  if (p.you) li.append(el("span", { class: "w-you", text: "you" }));
  li.append(points(p.score));
  return li;
}

function scoreRow(t: Score, you: boolean): HTMLLIElement {
  const li = el("li", { class: you ? "you" : undefined });
  li.append(el("span", { class: "name", text: t.name }));
  if (you) li.append(el("span", { class: "w-you", text: "you" }));
  li.append(points(t.best));
  return li;
}

/** points shows a score as a number, read out as "n points". */
function points(n: number): HTMLElement {
  return el("span", { class: "score" }, String(n), el("span", { class: "w-sr-only", text: plural(n, "point").slice(String(n).length) }));
}
