// Who you are in a document: a name kept in this browser, shown on your cursor
// and in the presence list, and a colour no one else present has.
import type { Awareness } from "y-protocols/awareness";
import { PALETTE, colorFor } from "@warren/shared";

const NAME_KEY = "warren-editor-name";

/** The user part of an awareness state, as y-codemirror.next reads it. */
export interface AwarenessUser { name: string; color: string; colorLight: string }

/** myName is the name to show: ?user= (tests, demos), else the stored one, else a new guest name (stored). */
export function myName(): string {
  const q = new URLSearchParams(location.search).get("user");
  if (q) return q;
  let name = localStorage.getItem(NAME_KEY) ?? "";
  if (!name) {
    name = "guest-" + Math.floor(100 + Math.random() * 900);
    localStorage.setItem(NAME_KEY, name);
  }
  return name;
}

/** setMyName keeps name in this browser (and drops a ?user= override from the URL). */
export function setMyName(name: string): void {
  localStorage.setItem(NAME_KEY, name);
  const u = new URL(location.href);
  if (u.searchParams.has("user")) {
    u.searchParams.delete("user");
    history.replaceState(null, "", u);
  }
}

function user(name: string, color: string): AwarenessUser {
  return { name, color, colorLight: color + "33" };
}

/**
 * assignColors gives each present client a colour: in order of client ID, each
 * takes the colour its name prefers, or else the first one not taken. It reads
 * only IDs and names, so every client computes the same assignment, and the
 * colours are distinct while there are no more people than colours.
 */
export function assignColors(people: { id: number; name: string }[]): Map<number, string> {
  const out = new Map<number, string>();
  const used = new Set<string>();
  for (const p of [...people].sort((a, b) => a.id - b.id)) {
    let c = colorFor(p.name);
    if (used.has(c)) c = PALETTE.find((x) => !used.has(x)) ?? c;
    used.add(c);
    out.set(p.id, c);
  }
  return out;
}

/**
 * publishUser sets this client's awareness user (name and colour) and keeps the
 * colour distinct from the others' as people come and go. It returns a function
 * that changes the name.
 */
export function publishUser(awareness: Awareness, name: string): (name: string) => void {
  let current = user(name, colorFor(name));
  const settle = () => {
    const people = [{ id: awareness.clientID, name: current.name }];
    for (const [id, st] of awareness.getStates()) {
      const n = (st as { user?: AwarenessUser }).user?.name;
      if (id !== awareness.clientID && n) people.push({ id, name: n });
    }
    const want = assignColors(people).get(awareness.clientID)!;
    if (want !== current.color) {
      current = user(current.name, want);
      awareness.setLocalStateField("user", current);
    }
  };
  awareness.setLocalStateField("user", current);
  awareness.on("change", settle);
  settle();
  return (next: string) => {
    current = user(next, current.color);
    awareness.setLocalStateField("user", current);
    settle();
  };
}
