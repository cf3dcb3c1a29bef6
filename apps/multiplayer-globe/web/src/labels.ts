// Name labels next to the players' dots, and a ring around your own: HTML over
// the canvas, moved every frame to where the renderer drew each dot. They are
// decorative (aria-hidden): the roster lists the same players as text.
import { el } from "@warren/shared";
import type { View } from "./render.ts";

/** One labelled dot: a player where the renderer drew them. */
export interface Labelled {
  n: number;
  name: string;
  lat: number;
  lng: number;
  /** The dot's size, as given to the renderer. */
  size: number;
  /** CSS colour of the player. */
  color: string;
  you: boolean;
}

/** Labels whose dot faces the viewer less than this (cos of the angle from the view's centre) are hidden: at the rim they would pile up. */
const MIN_FACING = 0.15;

/**
 * Labels keeps one label per player in layer (an element covering the
 * canvas), reusing elements across frames.
 */
export class Labels {
  private readonly tags = new Map<number, { tag: HTMLElement; name: HTMLElement; key: string }>();
  private readonly ring: HTMLElement;

  constructor(private readonly layer: HTMLElement) {
    layer.setAttribute("aria-hidden", "true");
    this.ring = el("div", { class: "you-ring", hidden: true });
    layer.append(this.ring);
  }

  /** update places the labels of players for the frame drawn with view. */
  update(view: View, players: Iterable<Labelled>): void {
    const seen = new Set<number>();
    let youShown = false;
    for (const p of players) {
      const at = view.project(p.lat, p.lng);
      if (!at || at[2] < MIN_FACING) continue;
      seen.add(p.n);
      const [x, y, facing] = at;
      // A dot is foreshortened towards the rim; the label starts just right of it.
      const r = view.dotRadius(p.size) * Math.sqrt(facing);
      const t = this.tag(p);
      t.tag.style.transform = `translate(${(x + r + 4).toFixed(1)}px, ${y.toFixed(1)}px) translateY(-50%)`;
      t.tag.hidden = false;
      if (p.you) {
        const d = 2 * (r + 5);
        this.ring.style.width = this.ring.style.height = `${d.toFixed(1)}px`;
        this.ring.style.transform = `translate(${(x - d / 2).toFixed(1)}px, ${(y - d / 2).toFixed(1)}px)`;
        youShown = true;
      }
    }
    this.ring.hidden = !youShown;
    for (const [n, t] of this.tags) {
      if (!seen.has(n)) t.tag.hidden = true;
    }
  }

  /** forget removes the labels of players no longer present. */
  forget(present: (n: number) => boolean): void {
    for (const [n, t] of this.tags) {
      if (!present(n)) {
        t.tag.remove();
        this.tags.delete(n);
      }
    }
  }

  private tag(p: Labelled): { tag: HTMLElement; name: HTMLElement; key: string } {
    let t = this.tags.get(p.n);
    if (!t) {
      const name = el("span", { class: "tag-name" });
      const tag = el("div", { class: "tag", "data-n": String(p.n) }, name);
      this.layer.append(tag);
      t = { tag, name, key: "" };
      this.tags.set(p.n, t);
    }
    const key = `${p.name}\u0000${p.color}\u0000${p.you}`;
    if (t.key !== key) {
      t.key = key;
      t.name.textContent = p.name; // text, never markup
      t.tag.style.setProperty("--player", p.color);
      t.tag.classList.toggle("you", p.you);
      t.tag.querySelector(".tag-you")?.remove();
      if (p.you) t.tag.append(el("span", { class: "tag-you", text: "you" }));
    }
    return t;
  }
}
