// DOM helpers shared by the apps: escaping for markup built as strings, and a
// small element builder that only ever sets text through textContent.

const htmlEscapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * escapeHTML returns text with &, <, >, " and ' replaced by entities, so the
 * result is inert inside element content and quoted attribute values.
 * Prefer textContent where possible; use this when building markup as a string.
 */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c] ?? c);
}

/** Attributes of {@link el}: `class`, `text` (textContent), any other attribute as a string, or an event handler as `on<event>`. */
export type ElProps = {
  class?: string;
  text?: string;
} & Record<string, string | number | boolean | undefined | EventListener | ((e: never) => void)>;

/**
 * el creates an element: props set attributes (false or undefined skip one,
 * true sets it empty), `text` sets textContent, `on<event>` adds a listener;
 * children are appended (strings as text nodes, never parsed as HTML).
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: ElProps = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (k === "class") e.className = String(v);
    else if (k === "text") e.textContent = String(v);
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v as EventListener);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** $ returns the element matching selector, or throws naming it (a missing element is a bug of the page). */
export function $<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T {
  const e = root.querySelector<T>(selector);
  if (!e) throw new Error(`missing element ${selector}`);
  return e;
}
