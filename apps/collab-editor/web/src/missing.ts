// Pages for links that open nothing: an edit link of a document that does not
// exist (with a way to create one), and a read-only link whose token is not valid.
import { el } from "@warren/shared";
import { newDocument } from "./list.ts";

/** noSuchDocument says the edit link opens no document, and offers to create one. */
export function noSuchDocument(app: HTMLElement, name: string): void {
  document.title = "No such document · Warren docs";
  const create = el("button", { type: "button", class: "w-btn w-btn-primary", id: "create-new", text: "New document", onclick: () => void newDocument() });
  const here = el("button", { type: "button", class: "w-btn", id: "create-here", text: "Create it at this link", onclick: () => void newDocument(undefined, name) });
  app.replaceChildren(el("div", { class: "w-card notice-page", id: "no-such-document" },
    el("h1", { text: "No such document" }),
    el("p", { text: "There is no document at this link. It may be mistyped: check it against the link you were given." }),
    el("p", { class: "w-hint", text: "A new document gets a long random link, so that only the people you give it to can edit. A document created at this link can be edited by anyone who guesses it." }),
    el("div", { class: "w-row" }, create, here, el("a", { href: "/", class: "w-btn w-btn-ghost", text: "All documents" })),
  ));
}

/** invalidViewLink says a read-only link opens nothing (no socket is opened for it). */
export function invalidViewLink(app: HTMLElement): void {
  document.title = "Link not valid · Warren docs";
  app.replaceChildren(el("div", { class: "w-card notice-page", id: "invalid-link" },
    el("h1", { text: "This read-only link is not valid" }),
    el("p", { text: "It opens no document: it may be mistyped or cut short. Ask whoever shared it for the link again." }),
    el("div", { class: "w-row" }, el("a", { href: "/", class: "w-btn w-btn-primary", text: "All documents" })),
  ));
}
