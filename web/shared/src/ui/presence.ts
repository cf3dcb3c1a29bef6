// Presence chips (who is here) and colours that stay distinct among the people present.
import { el } from "../html.ts";

/** One person shown by {@link presenceChips}. */
export interface Person {
  /** Stable id (a connection or user id); becomes data-id. */
  id: string;
  name: string;
  /** CSS colour of the avatar; default derived from id. */
  color?: string;
  /** This browser's own user: marked "you". */
  you?: boolean;
  /** A short note after the name, e.g. "watching". */
  note?: string;
}

/**
 * PALETTE is twelve hues readable as avatar backgrounds behind white initials
 * (contrast at least 4.5:1), in an order where neighbours differ strongly.
 */
export const PALETTE = [
  "#c2255c", "#237a36", "#1864ab", "#bf400c", "#6741d9", "#0b7285",
  "#a61e4d", "#4b7a0b", "#364fc7", "#c92a2a", "#862e9c", "#087f5b",
];

/** hash is a small stable string hash (FNV-1a, 32 bits). */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** colorFor is the palette colour id prefers. */
export function colorFor(id: string): string {
  return PALETTE[hash(id) % PALETTE.length]!;
}

/**
 * distinctColors gives every id a palette colour, distinct while there are no
 * more ids than colours: ids in sorted order take their preferred colour, or
 * the next free one. Every client computing it over the same ids agrees.
 */
export function distinctColors(ids: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<number>();
  for (const id of [...new Set(ids)].sort()) {
    let slot = hash(id) % PALETTE.length;
    for (let i = 0; i < PALETTE.length && used.has(slot); i++) slot = (slot + 1) % PALETTE.length;
    used.add(slot);
    out.set(id, PALETTE[slot]!);
  }
  return out;
}

/** initials is what an avatar shows: the first letter of the name, upper-cased. */
export function initials(name: string): string {
  const c = [...name.trim()][0];
  return c ? c.toLocaleUpperCase() : "?";
}

/** avatar returns a round avatar with the person's initial on their colour (decorative: the name is next to it). */
export function avatar(p: Pick<Person, "id" | "name" | "color">): HTMLElement {
  const a = el("span", { class: "w-avatar", "aria-hidden": "true", text: initials(p.name) });
  a.style.setProperty("--w-avatar", p.color ?? colorFor(p.id));
  return a;
}

/**
 * presenceChips fills list (a <ul>) with one chip per person: avatar, name,
 * "you" on the own one, the note if any. Names are text, never markup.
 */
export function presenceChips(list: HTMLElement, people: Person[]): void {
  list.classList.add("w-chips");
  list.replaceChildren(
    ...people.map((p) => {
      const li = el("li", { class: "w-chip" + (p.you ? " w-chip-you" : ""), "data-id": p.id });
      li.append(avatar(p), el("span", { class: "w-chip-name name", text: p.name }));
      if (p.note) li.append(el("span", { class: "w-chip-note", text: p.note }));
      if (p.you) li.append(el("span", { class: "w-you you", text: "you" }));
      return li;
    }),
  );
}
