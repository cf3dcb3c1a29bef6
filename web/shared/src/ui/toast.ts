// Toasts: short messages at the bottom of the screen, announced by screen readers.
import { el } from "../html.ts";

/** Options of {@link toast}. */
export interface ToastOptions {
  /** "error" is announced assertively and stays until dismissed unless timeout is set. */
  kind?: "info" | "success" | "error";
  /** Milliseconds before it goes away; 0 keeps it until dismissed. Default 4000 (errors: 8000). */
  timeout?: number;
  /** A button in the toast, e.g. { label: "Undo", run }. */
  action?: { label: string; run: () => void };
}

let region: HTMLElement | null = null;

function toastRegion(): HTMLElement {
  if (region && region.isConnected) return region;
  region = el("div", { class: "w-toasts", "aria-live": "polite", "aria-atomic": "false" });
  document.body.append(region);
  return region;
}

/**
 * toast shows message (as text) for a while with a close button, and returns
 * a function that removes it at once.
 */
export function toast(message: string, opts: ToastOptions = {}): () => void {
  const kind = opts.kind ?? "info";
  const t = el("div", { class: `w-toast w-toast-${kind} toast`, role: kind === "error" ? "alert" : "status" });
  t.append(el("span", { class: "w-toast-text", text: message }));
  const remove = () => {
    clearTimeout(timer);
    t.remove();
  };
  if (opts.action) {
    const { label, run } = opts.action;
    t.append(el("button", { type: "button", class: "w-btn w-btn-ghost w-btn-sm", text: label, onclick: () => { remove(); run(); } }));
  }
  t.append(el("button", { type: "button", class: "w-btn w-btn-icon w-btn-sm w-toast-close", "aria-label": "Dismiss", text: "×", onclick: remove }));
  toastRegion().append(t);
  const timeout = opts.timeout ?? (kind === "error" ? 8000 : 4000);
  const timer = timeout > 0 ? setTimeout(remove, timeout) : undefined;
  return remove;
}
