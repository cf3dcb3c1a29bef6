// The connection status every app shows in its header.
import { el } from "../html.ts";

/** States of a {@link ConnectionStatus}: the dot's colour and what assistive tech hears. */
export type ConnectionState = "connecting" | "online" | "offline" | "error" | "idle";

/**
 * ConnectionStatus drives a status element (`.w-status`, role=status so a
 * change is announced politely): a coloured dot, a short text, and
 * data-state for styles and tests.
 */
export class ConnectionStatus {
  readonly element: HTMLElement;

  /** Wraps element, or creates a span with the given id. */
  constructor(element: HTMLElement | string) {
    this.element = typeof element === "string" ? el("span", { id: element }) : element;
    this.element.classList.add("w-status");
    this.element.setAttribute("role", "status");
  }

  /** set shows state with text (which defaults to the state's name). */
  set(state: ConnectionState, text: string = state): void {
    this.element.dataset["state"] = state;
    if (this.element.textContent !== text) this.element.textContent = text;
  }

  get state(): ConnectionState {
    return (this.element.dataset["state"] as ConnectionState | undefined) ?? "idle";
  }
}
