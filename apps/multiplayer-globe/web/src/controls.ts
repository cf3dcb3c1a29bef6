// Steering: the arrow keys or W A S D anywhere on the page, or dragging on the
// globe (touch or mouse) like a joystick: the heading is the direction of the
// drag from where it started, shown by a knob while the finger is down.
import { el } from "@warren/shared";
import { state } from "./game.ts";

/** A drag shorter than this (CSS px) does not steer: a tap is not a move. */
const DEAD_ZONE = 12;
/** The knob stays within this distance (CSS px) of where the drag started. */
const KNOB_REACH = 44;

const KEY_DIRS: Record<string, [number, number]> = {
  ArrowUp: [0, 1], KeyW: [0, 1], ArrowDown: [0, -1], KeyS: [0, -1],
  ArrowLeft: [-1, 0], KeyA: [-1, 0], ArrowRight: [1, 0], KeyD: [1, 0],
};

/** headingOf is the compass heading (degrees clockwise from north) of a screen direction (x right, y up), in [0, 360). */
export function headingOf(x: number, y: number): number {
  return (((Math.atan2(x, y) * 180) / Math.PI) + 360) % 360;
}

/** typing says whether a key went to a text field or a dialog, which keep their keys. */
function typing(t: EventTarget | null): boolean {
  return t instanceof HTMLElement && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.closest("dialog") !== null);
}

let bound = false;

/**
 * bindControls makes the keys and drags on stage steer through state.steer
 * (a no-op while not playing). It binds once per page.
 */
export function bindControls(stage: HTMLElement): void {
  if (bound) return;
  bound = true;
  const keys = new Set<string>();
  const update = () => {
    let x = 0, y = 0;
    for (const k of keys) { const d = KEY_DIRS[k]; if (d) { x += d[0]; y += d[1]; } }
    if (x === 0 && y === 0) state.steer(0, false);
    else state.steer(headingOf(x, y), true);
  };
  addEventListener("keydown", (e) => {
    if (!(e.code in KEY_DIRS) || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    if (!keys.has(e.code)) { keys.add(e.code); update(); }
  });
  addEventListener("keyup", (e) => { if (keys.delete(e.code)) update(); });
  addEventListener("blur", () => { keys.clear(); update(); });

  // The joystick: a ring where the drag started, a knob towards the finger.
  const knob = el("span", { class: "stick-knob" });
  const stick = el("div", { class: "stick", hidden: true, "aria-hidden": "true" }, knob);
  stage.append(stick);
  let origin: { x: number; y: number; id: number } | null = null;
  stage.addEventListener("pointerdown", (e) => {
    if (origin || (e.pointerType === "mouse" && e.button !== 0)) return;
    const box = stage.getBoundingClientRect();
    origin = { x: e.clientX, y: e.clientY, id: e.pointerId };
    stage.setPointerCapture(e.pointerId);
    stick.style.transform = `translate(${(e.clientX - box.left).toFixed(0)}px, ${(e.clientY - box.top).toFixed(0)}px)`;
    knob.style.transform = "";
    stick.hidden = false;
  });
  stage.addEventListener("pointermove", (e) => {
    if (!origin || e.pointerId !== origin.id) return;
    const dx = e.clientX - origin.x, dy = e.clientY - origin.y, d = Math.hypot(dx, dy);
    const k = d > KNOB_REACH ? KNOB_REACH / d : 1;
    knob.style.transform = `translate(${(dx * k).toFixed(0)}px, ${(dy * k).toFixed(0)}px)`;
    if (d > DEAD_ZONE) state.steer(headingOf(dx, -dy), true);
    else state.steer(0, false);
  });
  const end = (e: PointerEvent) => {
    if (!origin || e.pointerId !== origin.id) return;
    origin = null;
    stick.hidden = true;
    state.steer(0, false);
  };
  stage.addEventListener("pointerup", end);
  stage.addEventListener("pointercancel", end);
}
